#!/usr/bin/env python3
"""Writes runtime/link-order.txt: the functions truman runs on its common paths, which
scripts/build-release.sh asks the linker (lld's --symbol-ordering-file) to place side
by side at the start of .text.

Why: the kernel maps a binary's pages 64 KB at a time around each page it touches
(fault-around), so code spread over the whole 3.8 MB .text costs the resident pages of
almost all of it. Packed together, the code a `run` touches spans a third as many.

How the functions are found, exactly and without instrumenting anything: the binary is
copied onto a small ext4 filesystem of our own on a loop device whose read-ahead is
zero, its cached pages dropped, and the workload below run from it. With no
read-ahead, a page enters the page cache only when some process touches it, so the
pages cached afterwards (mincore) are the pages touched; every function overlapping
one of those text pages goes in the list, phase by phase (see `phases`), each
phase's in address order.

Run as root after scripts/build-release.sh, and again when `build-release` says many
listed functions are gone (new dependencies, a new rustc). Needs busybox.
"""
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", "truman")
OUTPUT = os.path.join(REPO, "runtime", "link-order.txt")
PAGE = 4096

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def cached_pages(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        addr = libc.mmap(None, size, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED
        if addr in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap")
        vec = (ctypes.c_ubyte * ((size + PAGE - 1) // PAGE))()
        if libc.mincore(ctypes.c_void_p(addr), ctypes.c_size_t(size), vec) != 0:
            raise OSError(ctypes.get_errno(), "mincore")
        libc.munmap(ctypes.c_void_p(addr), ctypes.c_size_t(size))
        return {i for i, v in enumerate(vec) if v & 1}
    finally:
        os.close(fd)


def drop_cache(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)


def executable_segments(path):
    """(file offset, size, vaddr) of each executable LOAD segment."""
    out = run("readelf", "-lW", path, capture_output=True, text=True).stdout
    segs = []
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD" and "E" in f[6:-1]:
            segs.append((int(f[1], 16), int(f[4], 16), int(f[2], 16)))
    return segs


def functions(path):
    """(start, end, name) of each function symbol, in address order."""
    out = run("nm", "-n", "-S", "--defined-only", path, capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "tTWi":
            start = int(f[0], 16)
            syms.append((start, start + max(int(f[1], 16), 1), f[3]))
    return syms


def phases(truman, work):
    """The paths the clients drive most, as phases whose functions are placed in this
    order: `run` first (the peak RSS the benchmark reports), then the create-to-delete
    lifecycle with the queries between and exec, then pause, resume and a forced
    delete. Yields after each phase."""
    rootfs = os.path.join(work, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"))
    shutil.copy(shutil.which("busybox"), os.path.join(rootfs, "bin", "busybox"))
    for applet in ("sh", "true", "sleep"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    run(truman, "spec", cwd=work)
    config_path = os.path.join(work, "config.json")
    with open(config_path) as f:
        config = json.load(f)
    config["process"]["terminal"] = False
    root = os.path.join(work, "state")
    log = os.path.join(work, "log.json")
    rt = [truman, "--root", root, "--log", log, "--log-format", "json"]
    quiet = {"stdout": subprocess.DEVNULL, "stdin": subprocess.DEVNULL}

    def with_args(*args):
        config["process"]["args"] = list(args)
        with open(config_path, "w") as f:
            json.dump(config, f)

    with_args("/bin/true")
    run(*rt, "run", "--bundle", work, "once", **quiet)
    yield "run"
    with_args("/bin/sleep", "60")
    pid_file = os.path.join(work, "pid")
    run(*rt, "create", "--bundle", work, "--pid-file", pid_file, "long", **quiet)
    run(*rt, "start", "long")
    for query in (["state", "long"], ["list"], ["list", "--format", "json"]):
        run(*rt, *query, **quiet)
    run(*rt, "exec", "long", "/bin/true", **quiet)
    run(*rt, "kill", "long", "KILL")
    while json.loads(run(*rt, "state", "long", capture_output=True).stdout)["status"] != "stopped":
        pass
    run(*rt, "delete", "long")
    yield "lifecycle"
    run(*rt, "run", "--detach", "--bundle", work, "forced", **quiet)
    run(*rt, "ps", "forced", **quiet)
    run(*rt, "pause", "forced")
    run(*rt, "resume", "forced")
    run(*rt, "delete", "--force", "forced")
    yield "the rest"


def touched_functions(path, pages):
    """Every function overlapping one of the given pages of the file, in address order."""
    spans = []
    for off, size, vaddr in executable_segments(path):
        for p in pages:
            if off <= p * PAGE < off + size:
                start = vaddr + p * PAGE - off
                spans.append((start, start + PAGE))
    spans.sort()
    chosen, i = [], 0
    for start, end, name in functions(path):
        while i < len(spans) and spans[i][1] <= start:
            i += 1
        if i < len(spans) and spans[i][0] < end:
            chosen.append(name)
    return chosen


def main():
    if not os.path.exists(BINARY):
        sys.exit(f"link_order: {BINARY} is missing: run scripts/build-release.sh first")
    work = tempfile.mkdtemp(prefix="truman-link-order.")
    image = os.path.join(work, "fs.img")
    mnt = os.path.join(work, "mnt")
    os.mkdir(mnt)
    with open(image, "wb") as f:
        f.truncate(64 << 20)
    loop = run("losetup", "--find", "--show", image, capture_output=True, text=True).stdout.strip()
    mounted = False
    try:
        run("mkfs.ext4", "-q", loop)
        run("blockdev", "--setra", "0", loop)
        run("mount", loop, mnt)
        mounted = True
        truman = os.path.join(mnt, "truman")
        shutil.copy(BINARY, truman)
        drop_cache(truman)
        bundle = os.path.join(mnt, "bundle")
        order = {}
        try:
            for phase in phases(truman, bundle):
                new = [n for n in touched_functions(truman, cached_pages(truman)) if n not in order]
                order.update(dict.fromkeys(new))
                print(f"link_order: {phase}: {len(new)} more functions")
        finally:
            for cid in ("once", "long", "forced"):
                subprocess.run([truman, "--root", os.path.join(bundle, "state"), "delete",
                                "--force", cid], stderr=subprocess.DEVNULL)
        with open(OUTPUT, "w") as f:
            f.write("".join(n + "\n" for n in order))
        print(f"link_order: {len(order)} functions -> {OUTPUT}")
    finally:
        if mounted and subprocess.run(["umount", mnt]).returncode != 0:
            # Something still holds it (a container left behind): detach it anyway,
            # so that the loop device goes when the last user does.
            subprocess.run(["umount", "--lazy", mnt])
        subprocess.run(["losetup", "-d", loop])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
