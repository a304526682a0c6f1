#!/usr/bin/env bash
# containerd.sh RUNTIME_BINARY
# truman's own containerd scenarios, beside the shared smoke ones (containerd-smoke.sh):
# mount options that ctr passes to the runtime as they are written. Starts a private
# containerd (own root, state and socket, no CRI) like the smoke script, imports the
# busybox test image, runs containers with `ctr run --runc-binary RUNTIME_BINARY`, and
# stops that containerd (by PID) and removes what it made.
# Prints "PASS name" / "FAIL name: reason" per scenario, then "N passed, N failed".
# Needs the shared clients' setup.sh to have run once.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENTS=${TRUMAN_CLIENTS:-$HERE/../../../shared/clients}
[ -r "$CLIENTS/lib.sh" ] || CLIENTS=$HERE/../clients
. "$CLIENTS/lib.sh"
need_root
RT=$(need_runtime "$@") || exit 2

ARCHIVE=${SMOKE_CACHE:-/var/tmp/clients-smoke}/busybox-oci.tar
IMAGE=localhost/busybox:test
NS=truman-scenarios-$$
WORK=$(mktemp -d /tmp/truman-containerd.XXXXXX)
SOCK=$WORK/containerd.sock
VOLUME=$WORK/volume
DAEMON_PID=

[ -s "$ARCHIVE" ] || { echo "$ARCHIVE missing: run $CLIENTS/setup.sh first" >&2; exit 2; }

c() { limited ctr -a "$SOCK" -n "$NS" "$@"; }
ctr_run() { c run --rm --runtime io.containerd.runc.v2 --runc-binary "$RT" "$@"; }

cleanup() {
    local id pid
    if [ -n "$DAEMON_PID" ]; then
        for id in $(c task ls -q 2>/dev/null); do c task rm -f "$id" >/dev/null 2>&1; done
        for id in $(c container ls -q 2>/dev/null); do c container rm "$id" >/dev/null 2>&1; done
        for id in $(c image ls -q 2>/dev/null); do c image rm "$id" >/dev/null 2>&1; done
        c namespace rm "$NS" >/dev/null 2>&1
        kill "$DAEMON_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$DAEMON_PID" 2>/dev/null
        for pid in $(grep -l -F -- "$SOCK" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
            case $(cat "/proc/$pid/comm" 2>/dev/null) in containerd-shim*) kill -9 "$pid" ;; esac
        done
    fi
    findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rmdir /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/"$NS" 2>/dev/null
    rm -rf "/run/containerd/runc/$NS" "$WORK"
}
trap cleanup EXIT

mkdir -p "$VOLUME/sub" && mount -t tmpfs -o size=64k "truman-scenarios-$$" "$VOLUME/sub" ||
    { echo "cannot mount the volume's submount" >&2; exit 2; }

t_daemon_start() {
    wait_for 20 ctr -a "$SOCK" version || { echo "containerd not answering: $(tail -n 3 "$WORK/containerd.log")"; return 1; }
}
t_image_import() {
    c image import "$ARCHIVE" >/dev/null || return 1
    expect_match "image list" "$IMAGE" "$(c image ls -q)"
}
# "rro" (what containerd's CRI asks for a read-only volume once `features` lists it):
# the volume and the mount below it both refuse writes, and nothing reaches the host.
t_recursive_read_only() {
    expect "writes through an rro volume" "Read-only file system Read-only file system" \
        "$(echo $(ctr_run --mount "type=bind,src=$VOLUME,dst=/data,options=rbind:rro" $IMAGE rro-$$ sh -c \
            'for f in /data/top /data/sub/below; do touch $f 2>&1 | grep -o "Read-only file system"; done'))" || return 1
    [ ! -e "$VOLUME/top" ] && [ ! -e "$VOLUME/sub/below" ] || { echo "a write reached the host"; return 1; }
}
# A tmpfs with "tmpcopyup" starts with the image's files.
t_tmpfs_copyup() {
    local want
    want=$(ctr_run $IMAGE want-$$ head -n 1 /etc/passwd) || return 1
    expect "tmpcopyup /etc" "tmpfs $want" "$(echo $(ctr_run --mount "type=tmpfs,src=tmpfs,dst=/etc,options=nosuid:tmpcopyup" $IMAGE copyup-$$ sh -c \
        'awk "\$5 == \"/etc\" { print \$9 }" /proc/self/mountinfo; head -n 1 /etc/passwd'))"
}

cat >"$WORK/config.toml" <<CONF
version = 2
root = "$WORK/root"
state = "$WORK/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$WORK/debug.sock"
[metrics]
  address = ""
CONF
containerd --config "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
DAEMON_PID=$!

scenario daemon-start         t_daemon_start
scenario image-import         t_image_import
scenario recursive-read-only  t_recursive_read_only
scenario tmpfs-copyup         t_tmpfs_copyup
summary
