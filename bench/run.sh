#!/usr/bin/env bash
# bench/run.sh [ROUNDS]: truman, crun and runc side by side on one busybox bundle,
# interleaved round by round (a noisy, shared machine is compared only as paired
# ratios measured in the same run). Run as root from anywhere; not a test, never
# fails on a timing. Prints a table and writes bench/results/<date>.md and .json.
#
# Measured: `run` of /bin/true in the foreground; the lifecycle (create, start, wait
# for the exit, delete); `exec` of /bin/true into a running container; `state`, and
# `list` with 100 containers present; `delete --force` of a running container; peak
# RSS of `run` and `create`; system calls of `run` (strace -f -c); `state` again
# through hyperfine; create+start of BENCH_SCALE (1000) containers left running, the
# cost of the k-th as k grows, then 50 more two at a time, then each one's
# `delete --force`; and the kernel floor (unshare and chroot, no runtime), also beside
# each step of the count.
#
# BENCH_BASELINE=/path/to/truman adds another build of truman (the commit before a
# change) as "before"; BENCH_RUNTIMES="truman crun" narrows the set; BENCH_SCALE=200
# makes the count test shorter.
#
# crun refuses a hybrid cgroup host whose cgroup2 tree holds a controller: where it
# does, hugetlb is moved to a v1 mount for the run and given back afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-20}
need=()
for p in crun runc hyperfine strace time python3 busybox-static; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
bash scripts/build-release.sh
WORK=$(mktemp -d /tmp/truman-bench.XXXXXX)
HUGETLB_MOVED=0
MASKED=0
# Where hugetlb cannot move off cgroup2, every runtime runs in a mount namespace of
# the benchmark's own whose cgroup2 lists no controller (an empty file bound over
# cgroup.controllers): crun then accepts the host, and all of them see one layout.
in_layout() {
    if [ "$MASKED" = 1 ]; then
        unshare -m --propagation private bash -c \
            'mount --bind "$1" /sys/fs/cgroup/unified/cgroup.controllers && shift && exec "$@"' \
            _ "$WORK/no-controllers" "$@"
    else
        "$@"
    fi
}
give_back_hugetlb() {
    # The kernel keeps an unmounted v1 hierarchy alive until its last reference goes,
    # which can outlast the unmount: it is mounted and unmounted again, empty, until
    # /proc/cgroups shows hugetlb back on cgroup2 (hierarchy 0), for at most 10 s.
    if [ "$HUGETLB_MOVED" = 1 ]; then
        umount /sys/fs/cgroup/hugetlb 2>/dev/null || true
        for _ in $(seq 20); do
            awk '$1 == "hugetlb" && $2 == 0 { found = 1 } END { exit !found }' /proc/cgroups && break
            sleep 0.5
            mount -t cgroup -o hugetlb hugetlb /sys/fs/cgroup/hugetlb 2>/dev/null &&
                umount /sys/fs/cgroup/hugetlb 2>/dev/null || true
        done
        rmdir /sys/fs/cgroup/hugetlb 2>/dev/null || true
    fi
}
cleanup() {
    # Every state root the measurements made (root-RUNTIME, scale-RUNTIME), so that
    # an interrupted run leaves no container behind either.
    local -A bin=([truman]=target/release/truman [crun]=crun [runc]=runc [before]="${BENCH_BASELINE:-}")
    for root in "$WORK"/root-* "$WORK"/scale-*; do
        [ -d "$root" ] || continue
        local rt=${root##*/}
        rt=${rt#*-}
        [ -n "${bin[$rt]:-}" ] || continue
        for id in $(ls "$root" 2>/dev/null); do
            in_layout "${bin[$rt]}" --root "$root" delete -f "$id" >/dev/null 2>&1 || true
        done
    done
    give_back_hugetlb
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The bundle: busybox, runc's default config with /bin/true and no terminal.
mkdir -p "$WORK/bundle/rootfs/bin"
cp /bin/busybox "$WORK/bundle/rootfs/bin/"
for a in sh true sleep cat; do ln -s busybox "$WORK/bundle/rootfs/bin/$a"; done
mkdir -p "$WORK/bundle/rootfs/"{proc,sys,dev,tmp,etc}
(cd "$WORK/bundle" && runc spec)
python3 - "$WORK/bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"]["readonly"] = True
json.dump(c, open(path, "w"), indent=1)
PY

# crun on a hybrid host with a controller on cgroup2.
if [ -d /sys/fs/cgroup/unified ] && grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null &&
    ! mountpoint -q /sys/fs/cgroup/hugetlb 2>/dev/null; then
    # hugetlb off in every cgroup2 subtree_control, deepest first, then a v1 mount.
    find /sys/fs/cgroup/unified -name cgroup.subtree_control | awk '{ print length, $0 }' | sort -rn |
        cut -d' ' -f2- | while read -r f; do
            grep -qw hugetlb "$f" && echo -hugetlb >"$f" 2>/dev/null || true
        done
    mkdir -p /sys/fs/cgroup/hugetlb
    # Refused while a removed cgroup2 cgroup still holds hugetlb state
    # (nr_dying_subsys_hugetlb in cgroup.stat): the directory goes (an empty one
    # there would pass for a v1 hierarchy) and the controller list is masked.
    if mount -t cgroup -o hugetlb hugetlb /sys/fs/cgroup/hugetlb 2>/dev/null; then
        HUGETLB_MOVED=1
    else
        rmdir /sys/fs/cgroup/hugetlb 2>/dev/null || true
        : >"$WORK/no-controllers"
        MASKED=1
        export BENCH_LAYOUT_NOTE="hugetlb could not leave cgroup2 (a removed cgroup still held it): every runtime ran with cgroup2's controller list masked"
    fi
fi

export BENCH_RUNTIMES="${BENCH_RUNTIMES:-truman crun runc}" BENCH_MISSING_WHY=""
if [[ " $BENCH_RUNTIMES " == *" crun "* ]] &&
    ! in_layout crun --root "$WORK/root-probe" run --bundle "$WORK/bundle" probe >/dev/null 2>"$WORK/crun-probe"; then
    BENCH_RUNTIMES=$(echo " $BENCH_RUNTIMES " | sed 's/ crun / /')
    BENCH_MISSING_WHY="crun: $(head -c 200 "$WORK/crun-probe" | tr '\n' ' ')"
    echo "crun cannot run here, measuring without it: $BENCH_MISSING_WHY" >&2
fi
in_layout python3 bench/measure.py "$WORK" "$ROUNDS" "$(pwd)/target/release/truman"
