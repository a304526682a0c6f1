#!/usr/bin/env bash
# containerd.sh RUNTIME_BINARY
# truman's own containerd scenarios, beside the shared smoke ones (containerd-smoke.sh):
# mount options that ctr passes to the runtime as they are written, and a task
# checkpointed through the shim and restored (`ctr containers checkpoint --task`,
# `ctr containers restore --live`). Starts a private
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

# bundle ID: the task's bundle, where the shim keeps log.json, criu-dump.log and work/.
bundle() { echo "$WORK/state/io.containerd.runtime.v2.task/$NS/$1"; }
# count_in ID: the counter the task last wrote, read through its rootfs from the host.
count_in() {
    local n
    for _ in 1 2 3 4 5; do
        n=$(cat "$(bundle "$1")/rootfs/tmp/count" 2>/dev/null)
        case $n in '' | *[!0-9]*) sleep 0.05 ;; *) echo "$n"; return 0 ;; esac
    done
    return 1
}
count_at_least() { local n; n=$(count_in "$1") && [ "$n" -ge "$2" ]; }
task_status() { c task ls | awk -v id="$1" '$1 == id { print $3 }'; }
task_is() { [ "$(task_status "$1")" = "$2" ]; }
# ckpt_logs ID: what the shim and the runtime left about a failed checkpoint or restore,
# copied to $CKPT_LOGS when it is set (the bundle goes with the task).
ckpt_logs() {
    local b f; b=$(bundle "$1")
    [ -n "${CKPT_LOGS:-}" ] || return 0
    mkdir -p "$CKPT_LOGS"
    for f in "$b/log.json" "$b/criu-dump.log" "$b"/work/*.log "$WORK/containerd.log"; do
        [ -f "$f" ] && cp "$f" "$CKPT_LOGS/$(basename "$f")"
    done
}
# A counting shell checkpointed with CRIU through the shim (--leave-running, as ctr asks),
# left to count on, killed and removed, then restored: the restored counter goes on from
# the checkpoint, neither from 1 nor from where the killed task had got to.
t_checkpoint_restore() {
    local id=ckpt-$$ ref=localhost/truman-checkpoint/ckpt-$$:1 before after killed first later out n
    c run -d --runtime io.containerd.runc.v2 --runc-binary "$RT" $IMAGE $id sh -c \
        'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done' || return 1
    wait_for 10 count_at_least $id 30 || { echo "the counter does not count: '$(count_in $id)'"; return 1; }
    before=$(count_in $id)
    out=$(c container checkpoint --task --rw $id $ref 2>&1) ||
        { ckpt_logs $id; echo "checkpoint: $out"; return 1; }
    after=$(count_in $id)
    # containerd 1.6 leaves the CRIU images out of the index, silently, when the task's spec
    # is in the content store already (an earlier checkpoint of this container still there)
    expect_match "what the checkpoint holds" 'criu\.checkpoint\.criu\.tar' \
        "$(c content get "$(c image ls | awk -v r=$ref '$1 == r { print $3 }')")" || return 1
    expect "status after the checkpoint" RUNNING "$(task_status $id)" || return 1
    wait_for 20 count_at_least $id $((after + 30)) || { echo "no counting after the checkpoint: $(count_in $id)"; return 1; }
    c task kill -s KILL $id || return 1
    wait_for 10 task_is $id STOPPED || { echo "not stopped: $(task_status $id)"; return 1; }
    killed=$(count_in $id)
    c task rm $id >/dev/null && c container rm $id || return 1
    out=$(c container restore --live --rw $id $ref 2>&1) ||
        { ckpt_logs $id; echo "restore: $out"; return 1; }
    expect "status after the restore" RUNNING "$(task_status $id)" || { ckpt_logs $id; return 1; }
    # read once through `ctr task exec` too: exec into the restored container works
    for n in 1 2 3 4 5; do
        first=$(c task exec --exec-id read-$n-$$ $id cat /tmp/count) || return 1
        case $first in '' | *[!0-9]*) sleep 0.05 ;; *) break ;; esac
    done
    wait_for 10 count_at_least $id $((first + 5)) || { echo "the restored counter stands at $(count_in $id)"; return 1; }
    later=$(count_in $id)
    [ -z "${CKPT_LOGS:-}" ] || { mkdir -p "$CKPT_LOGS"; echo "$RT: checkpoint at $before..$after, killed at $killed, restored at $first, then $later" >>"$CKPT_LOGS/counts"; }
    # checkpointed somewhere in [before, after]; the killed task had got to $killed
    [ "$first" -ge "$before" ] && [ "$first" -lt "$killed" ] && [ "$later" -gt "$first" ] ||
        { echo "counter: $before..$after at the checkpoint, $killed when killed, $first then $later after the restore"; return 1; }
    c task kill -s KILL $id && wait_for 10 task_is $id STOPPED && c task rm $id >/dev/null &&
        c container rm $id && c image rm $ref >/dev/null
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
mkdir -p "$WORK/xdg"  # containerd 1.6 leaves the restore's ctrd-checkpoint* dir in $XDG_RUNTIME_DIR
XDG_RUNTIME_DIR=$WORK/xdg containerd --config "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
DAEMON_PID=$!

scenario daemon-start         t_daemon_start
scenario image-import         t_image_import
scenario recursive-read-only  t_recursive_read_only
scenario tmpfs-copyup         t_tmpfs_copyup
scenario checkpoint-restore   t_checkpoint_restore
summary
