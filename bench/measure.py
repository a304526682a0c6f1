"""The measurements of bench/run.sh: each operation, for each runtime, once per
round, the runtimes in a new random order every round; medians, spreads and the
paired ratios (per round, truman's time over crun's and runc's, then the median).
Usage: measure.py WORK ROUNDS TRUMAN_BINARY (WORK holds bundle/)."""

import ctypes
import datetime
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

WORK, ROUNDS, TRUMAN = sys.argv[1], int(sys.argv[2]), sys.argv[3]
BUNDLE = os.path.join(WORK, "bundle")
ALL = {"truman": TRUMAN, "crun": "/usr/bin/crun", "runc": "/usr/sbin/runc"}
# BENCH_BASELINE names another truman binary (a build of the commit before a change),
# measured beside the others as "before": a change's paired before/after ratio.
if os.environ.get("BENCH_BASELINE"):
    ALL["before"] = os.environ["BENCH_BASELINE"]
# bench/run.sh leaves out a runtime that cannot run on this host (crun, when hugetlb
# could not be moved off cgroup2), and says why; BENCH_RUNTIMES can narrow the set.
WANTED = os.environ.get("BENCH_RUNTIMES", "truman crun runc").split() + ["before"]
RUNTIMES = {n: p for n, p in ALL.items() if n in WANTED}
PEERS = [n for n in ("crun", "runc", "before") if n in RUNTIMES]
QUIET = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}

# A subreaper, as containerd's shim and conmon are: the inits left by `create` are
# ours to wait for.
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)

counter = 0


def new_id():
    global counter
    counter += 1
    return f"bench-{os.getpid()}-{counter}"


def rt(name, *args, check=True):
    cmd = [RUNTIMES[name], "--root", os.path.join(WORK, f"root-{name}"), *args]
    done = subprocess.run(cmd, **QUIET)
    if check and done.returncode != 0:
        raise SystemExit(f"{name} {' '.join(args)}: exit {done.returncode}")


def timed(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def op_run(name):
    return timed(lambda: rt(name, "run", "--bundle", BUNDLE, new_id()))


def op_lifecycle(name):
    cid = new_id()
    pid_file = os.path.join(WORK, f"{cid}.pid")

    def go():
        rt(name, "create", "--bundle", BUNDLE, "--pid-file", pid_file, cid)
        pid = int(open(pid_file).read())
        rt(name, "start", cid)
        os.waitpid(pid, 0)
        rt(name, "delete", cid)

    return timed(go)


def sleeper(name):
    """A running container whose init sleeps, for exec, state, list and delete."""
    cid = new_id()
    bundle = os.path.join(WORK, f"bundle-sleep")
    if not os.path.exists(bundle):
        os.makedirs(bundle)
        os.symlink(os.path.join(BUNDLE, "rootfs"), os.path.join(bundle, "rootfs"))
        config = json.load(open(os.path.join(BUNDLE, "config.json")))
        config["process"]["args"] = ["/bin/sleep", "100000"]
        config["root"]["path"] = os.path.join(BUNDLE, "rootfs")
        json.dump(config, open(os.path.join(bundle, "config.json"), "w"))
    rt(name, "run", "--detach", "--bundle", bundle, cid)
    return cid


def op_exec(name, cid):
    return timed(lambda: rt(name, "exec", cid, "/bin/true"))


def op_state(name, cid):
    return timed(lambda: rt(name, "state", cid))


def op_list(name):
    return timed(lambda: rt(name, "list"))


def op_delete_force(name):
    cid = sleeper(name)
    return timed(lambda: rt(name, "delete", "--force", cid))


def peak_rss_kb(name, op="run"):
    # Through GNU time: a child forked from this Python counts its copy of
    # Python's memory before the exec in its own peak.
    out = os.path.join(WORK, f"rss-{name}")
    cmd = ["/usr/bin/time", "-f", "%M", "-o", out, RUNTIMES[name], "--root",
           os.path.join(WORK, f"root-{name}"), op, "--bundle", BUNDLE, new_id()]
    subprocess.run(cmd, **QUIET)
    return int(open(out).read().split()[-1])


def syscalls(name):
    out = os.path.join(WORK, f"strace-{name}")
    cmd = ["strace", "-f", "-c", "-o", out, RUNTIMES[name], "--root",
           os.path.join(WORK, f"root-{name}"), "run", "--bundle", BUNDLE, new_id()]
    subprocess.run(cmd, **QUIET)
    # "% time seconds usecs/call calls errors total": the calls column.
    total = [l.split() for l in open(out) if l.strip().endswith("total")]
    return int(total[-1][3]) if total else None


def create_start(name, root):
    """create then start of one sleeping container under `root`, in ms."""
    cid = new_id()
    bundle = os.path.join(WORK, "bundle-sleep")

    def go():
        for args in (["create", "--bundle", bundle, cid], ["start", cid]):
            done = subprocess.run([RUNTIMES[name], "--root", root, *args], **QUIET)
            if done.returncode != 0:
                raise SystemExit(f"{name} {args[0]} ({root}): exit {done.returncode}")

    return timed(go)


def pair(name, root):
    """Two create+start at once, in ms per container."""
    import threading
    times = []
    threads = [threading.Thread(target=lambda: times.append(create_start(name, root))) for _ in range(2)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (time.perf_counter() - start) * 1000 / 2


def scale(names, total):
    """Containers started and left running, one runtime after the other for each
    container (paired as the rest): the cost of the k-th container as k grows to
    `total`, back to back; then 50 started two at a time; then all removed with
    delete --force, timed per container. The kernel floor is measured beside each
    step, so that the growth the kernel owes shows apart from the runtimes'."""
    roots = {n: os.path.join(WORK, f"scale-{n}") for n in names}
    per = {n: [] for n in names}
    # The kernel floor beside each step: what the count costs the kernel itself.
    per["unshare+chroot"] = []
    for _ in range(total):
        order = names[:]
        random.shuffle(order)
        for name in order:
            per[name].append(create_start(name, roots[name]))
        per["unshare+chroot"].append(floor())
    pairs = {n: [] for n in names}
    for _ in range(25):
        order = names[:]
        random.shuffle(order)
        for name in order:
            pairs[name].append(pair(name, roots[name]))
    deletes = {n: [] for n in names}
    ids = {n: sorted(os.listdir(roots[n])) for n in names}
    for i in range(max(len(v) for v in ids.values())):
        order = names[:]
        random.shuffle(order)
        for name in (n for n in order if i < len(ids[n])):
            deletes[name].append(timed(lambda: subprocess.run(
                [RUNTIMES[name], "--root", roots[name], "delete", "--force", ids[name][i]], **QUIET)))
    reap()
    return per, pairs, deletes


def hyperfine_state(names, running):
    """`state` through hyperfine (warmed up, its own statistics), a cross-check of
    the interleaved numbers; None without hyperfine."""
    if not shutil.which("hyperfine"):
        return None
    out = os.path.join(WORK, "hyperfine.json")
    cmds = [f"{RUNTIMES[n]} --root {os.path.join(WORK, 'root-' + n)} state {running[n]}" for n in names]
    subprocess.run(["hyperfine", "-N", "--warmup", "10", "--runs", "100", "--export-json", out, *cmds],
                   **QUIET)
    got = json.load(open(out))["results"]
    return {n: {"mean": r["mean"] * 1000, "stddev": r["stddev"] * 1000} for n, r in zip(names, got)}


def floor():
    rootfs = os.path.join(BUNDLE, "rootfs")
    cmd = ["unshare", "-mpfiun", "--fork", "--mount-proc", "chroot", rootfs, "/bin/true"]
    return timed(lambda: subprocess.run(cmd, **QUIET))


def reap():
    """The inits the runtimes left to us, once they have exited."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def summary(samples):
    s = sorted(samples)
    q = statistics.quantiles(s, n=4) if len(s) > 1 else [s[0]] * 3
    return {"median": statistics.median(s), "p25": q[0], "p75": q[2], "n": len(s)}


def main():
    names = list(RUNTIMES)
    results = {}

    def record(op, name, value):
        results.setdefault(op, {}).setdefault(name, []).append(value)

    running = {name: sleeper(name) for name in names}
    # 100 containers present for `list` (and the store of each runtime).
    for name in names:
        for _ in range(99):
            rt(name, "create", "--bundle", BUNDLE, new_id())
    for _ in range(ROUNDS):
        for op in ["run", "lifecycle", "exec", "state", "list", "delete --force"]:
            order = names[:]
            random.shuffle(order)
            for name in order:
                value = {
                    "run": lambda: op_run(name),
                    "lifecycle": lambda: op_lifecycle(name),
                    "exec": lambda: op_exec(name, running[name]),
                    "state": lambda: op_state(name, running[name]),
                    "list": lambda: op_list(name),
                    "delete --force": lambda: op_delete_force(name),
                }[op]()
                record(op, name, value)
        record("kernel floor", "unshare+chroot", floor())
        reap()
    rss = {name: max(peak_rss_kb(name) for _ in range(3)) for name in names}
    rss_create = {name: max(peak_rss_kb(name, "create") for _ in range(3)) for name in names}
    calls = {name: syscalls(name) for name in names}
    checked = hyperfine_state(names, running)
    total = int(os.environ.get("BENCH_SCALE", "1000"))
    per, pairs, deletes = scale(names, total)
    # The k-th container's cost, in buckets: flat means the count does not matter.
    buckets = [(1, 50)] + [(k - 49, k) for k in (100, 250, 500, 1000) if k <= total]
    for first, last in buckets:
        for name in names:
            for value in per[name][first - 1:last]:
                record(f"create+start, containers {first}-{last}", name, value)
        for value in per["unshare+chroot"][first - 1:last]:
            record(f"kernel floor, containers {first}-{last} running", "unshare+chroot", value)
    for name in names:
        for value in pairs[name]:
            record("create+start, two at a time (per container)", name, value)
        for value in deletes[name]:
            record(f"delete --force, {total} running (per container)", name, value)

    table = {}
    for op, per in results.items():
        row = {name: summary(v) for name, v in per.items()}
        if "truman" in per:
            for peer in PEERS:
                ratios = [t / p for t, p in zip(per["truman"], per[peer])]
                row[f"truman/{peer}"] = statistics.median(ratios)
        table[op] = row
    machine = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "cgroups": "unified" if not os.path.isdir("/sys/fs/cgroup/memory") else
                   ("hybrid" if os.path.isdir("/sys/fs/cgroup/unified") else "v1"),
        "rounds": ROUNDS,
        "layout_note": os.environ.get("BENCH_LAYOUT_NOTE", ""),
        "versions": {n: subprocess.run([p, "--version"], capture_output=True, text=True)
                     .stdout.splitlines()[0] for n, p in RUNTIMES.items()},
    }
    report = {"machine": machine, "ops": table, "peak_rss_kb": rss, "peak_rss_create_kb": rss_create, "syscalls_of_run": calls,
              "hyperfine_state_ms": checked}

    lines = [f"# truman, crun and runc on {machine['date']}", "",
             f"Kernel {machine['kernel']}, {machine['cpus']} CPUs, cgroups {machine['cgroups']}, "
             f"{ROUNDS} interleaved rounds. Medians in ms (p25-p75); ratios are medians of "
             "per-round truman/peer ratios.", "",
             "| op | " + " | ".join(names) + " | " + " | ".join(f"truman/{p}" for p in PEERS) + " |",
             "|---" * (1 + len(names) + len(PEERS)) + "|"]
    for op, row in table.items():
        def cell(n):
            if n not in row:
                return ""
            s = row[n]
            return f"{s['median']:.2f} ({s['p25']:.2f}-{s['p75']:.2f})"
        if "truman" in row:
            lines.append(f"| {op} | " + " | ".join(cell(n) for n in names) + " | "
                         + " | ".join(f"{row[f'truman/{p}']:.2f}x" for p in PEERS) + " |")
        else:
            lines.append(f"| {op} | {cell('unshare+chroot')} |" + " |" * (len(names) - 1 + len(PEERS)))

    def counted(what, values):
        if all(values.values()):
            lines.append(f"| {what} | " + " | ".join(str(values[n]) for n in names) + " | "
                         + " | ".join(f"{values['truman'] / values[p]:.2f}x" for p in PEERS) + " |")

    counted("peak RSS of run (kB)", rss)
    counted("peak RSS of create (kB)", rss_create)
    counted("syscalls of run", calls)
    if checked:
        lines += ["", "`state` through hyperfine (100 runs after 10 warm-ups, mean ± σ): "
                  + "; ".join(f"{n} {v['mean']:.2f} ± {v['stddev']:.2f} ms" for n, v in checked.items())]
    missing = [n for n in ALL if n not in RUNTIMES]
    if missing:
        why = os.environ.get("BENCH_MISSING_WHY") or "not asked for"
        lines += ["", "Not measured: " + ", ".join(missing) + " (" + why + ")"]
    if os.environ.get("BENCH_LAYOUT_NOTE"):
        lines += ["", "Layout: " + os.environ["BENCH_LAYOUT_NOTE"] + "."]
    lines += ["", "Versions: " + "; ".join(f"{n}: {v}" for n, v in machine["versions"].items())]
    text = "\n".join(lines) + "\n"
    print(text)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(out, exist_ok=True)
    stamp = re.sub(r"[:+]", "", machine["date"])
    open(os.path.join(out, f"{stamp}.md"), "w").write(text)
    json.dump(report, open(os.path.join(out, f"{stamp}.json"), "w"), indent=1)


main()
