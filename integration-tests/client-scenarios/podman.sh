#!/usr/bin/env bash
# podman.sh RUNTIME_BINARY
# truman's own podman scenarios, beside the shared smoke ones (podman-smoke.sh): the
# mount options podman asks of a runtime that truman once accepted and ignored,
# `--cgroups=disabled`, a pod with a user namespace, and checkpoint and restore
# (in place, and exported to a tar and imported under a new name).
# Rootful podman with `--runtime RUNTIME_BINARY`, the busybox test image, a private
# containers.conf for the rlimits this host's root may set, as the smoke script does.
# Prints "PASS name" / "FAIL name: reason" per scenario, then "N passed, N failed".
# Needs the shared clients' setup.sh to have run once.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENTS=${TRUMAN_CLIENTS:-$HERE/../../../shared/clients}
[ -r "$CLIENTS/lib.sh" ] || CLIENTS=$HERE/../clients
. "$CLIENTS/lib.sh"
need_root
RT=$(need_runtime "$@") || exit 2

IMAGE=localhost/busybox:test
LABEL=truman-scenarios=podman-$$
WORK=$(mktemp -d /tmp/truman-podman.XXXXXX)
VOLUME=$WORK/volume

nofile=$(ulimit -Hn); nproc=$(ulimit -Hu); pidmax=$(cat /proc/sys/kernel/pid_max)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nproc" = unlimited ] || [ "$nproc" -gt "$pidmax" ] && nproc=$pidmax
# The runtime is also named, for podman to pass it --cgroup-manager disabled: podman
# does so only for a runtime it is told supports it (the key's name changed between
# podman versions; the one it does not know is ignored).
cat >"$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime_supports_nocgroup = ["runtime-under-test"]
runtime_supports_nocgroups = ["runtime-under-test"]
[engine.runtimes]
runtime-under-test = ["$RT"]
CONF
export CONTAINERS_CONF=$WORK/containers.conf

pm() { limited podman --runtime "$RT" "$@"; }
prun() { pm run --rm --label "$LABEL" --network none "$@"; }

cleanup() {
    local ids
    ids=$(podman ps -aq --filter "label=$LABEL" 2>/dev/null)
    [ -n "$ids" ] && podman --runtime "$RT" rm -f -t 0 $ids >/dev/null 2>&1
    ids=$(podman pod ps -q --filter "label=$LABEL" 2>/dev/null)
    [ -n "$ids" ] && podman --runtime "$RT" pod rm -f $ids >/dev/null 2>&1
    findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

podman image exists "$IMAGE" || { echo "image $IMAGE missing: run $CLIENTS/setup.sh first" >&2; exit 2; }

# A volume with a submount of its own, made for these scenarios.
mkdir -p "$VOLUME/sub" && mount -t tmpfs -o size=64k "truman-scenarios-$$" "$VOLUME/sub" ||
    { echo "cannot mount the volume's submount" >&2; exit 2; }

# `--tmpfs /etc` reaches the runtime with "tmpcopyup": the tmpfs starts with the
# image's files (a runtime that ignores the option shows an empty /etc), and what the
# container writes there stays in the tmpfs.
t_tmpfs_copyup() {
    local want
    want=$(prun $IMAGE head -n 1 /etc/passwd) || return 1
    expect "/etc with --tmpfs /etc" "tmpfs $want written" "$(echo $(prun --tmpfs /etc $IMAGE sh -c \
        'awk "\$5 == \"/etc\" { print \$9 }" /proc/self/mountinfo; head -n 1 /etc/passwd; echo x > /etc/new && echo written'))"
}
# `-v VOLUME:/data:ro` is "rbind" + "ro": the volume and its submount come along, and
# the volume's own mount refuses writes. (podman 4.3 has no way to ask for "rro", the
# recursive form: containerd.sh asks for it through ctr.)
t_read_only_volume() {
    expect "-v VOLUME:/data:ro" "sub-mounted Read-only file system" "$(echo $(prun -v "$VOLUME:/data:ro" $IMAGE sh -c \
        'grep -q " /data/sub " /proc/self/mountinfo && echo sub-mounted; touch /data/x 2>&1 | grep -o "Read-only file system"'))" || return 1
    [ ! -e "$VOLUME/x" ] || { echo "a write reached the volume"; return 1; }
}

# `--cgroups=disabled` reaches the runtime as `--cgroup-manager disabled`: the
# container makes no cgroup and stays in conmon's; exec, stop and rm work.
t_no_cgroups() {
    local name=truman-no-cgroups-$$ pid conmon
    limited podman --runtime runtime-under-test run -d --name "$name" --label "$LABEL" \
        --cgroups=disabled --network none $IMAGE sleep 1000 >/dev/null || return 1
    pid=$(podman inspect -f '{{.State.Pid}}' "$name") || return 1
    conmon=$(awk '{ print $4 }' "/proc/$pid/stat")
    expect "the container's cgroups" "$(cat "/proc/$conmon/cgroup")" "$(cat "/proc/$pid/cgroup")" || return 1
    expect "exec" "hi" "$(limited podman --runtime runtime-under-test exec "$name" echo hi)" || return 1
    limited podman --runtime runtime-under-test rm -f -t 0 "$name" >/dev/null
}

# A pod with a user namespace (`pod create --uidmap`): its containers join the
# infra container's user namespace by path and each has a pid namespace of its own
# inside it.
t_pod_user_namespace() {
    local pod=truman-pod-userns-$$ out
    pm pod create --name "$pod" --label "$LABEL" --network none \
        --uidmap 0:200000:65536 --gidmap 0:200000:65536 >/dev/null || return 1
    out=$(pm run --rm --pod "$pod" $IMAGE sh -c 'echo $$; cat /proc/self/uid_map')
    pm pod rm -f "$pod" >/dev/null
    expect "pid and uid map in the pod" "1 0 200000 65536" "$(echo $out)"
}

# The last number a counting container printed, from podman's log of it.
last_count() { pm logs "$1" 2>/dev/null | tail -n 1; }

# `podman container checkpoint` stops a counting container into an image;
# `restore` brings it back counting on from there (its log goes on from the last
# number, no 1 again); exec reaches the restored one.
t_checkpoint_restore() {
    local name=truman-checkpoint-$$ at
    pm run -d --name "$name" --label "$LABEL" --network none $IMAGE \
        sh -c 'i=0; until [ -e /stop ]; do i=$((i+1)); echo $i; sleep 0.1; done; exit 3' >/dev/null || return 1
    wait_for 10 sh -c "[ \"\$(podman logs $name 2>/dev/null | wc -l)\" -ge 3 ]" || { echo "it never counted"; return 1; }
    pm container checkpoint "$name" >/dev/null || return 1
    expect "state after checkpoint" "exited" "$(podman inspect -f '{{.State.Status}}' "$name")" || return 1
    at=$(last_count "$name")
    pm container restore "$name" >/dev/null || return 1
    expect "state after restore" "running" "$(podman inspect -f '{{.State.Status}}' "$name")" || return 1
    wait_for 10 sh -c "[ \"\$(podman logs $name 2>/dev/null | tail -n 1)\" -gt $((at + 2)) ]" ||
        { echo "it did not count on from $at: $(last_count "$name")"; return 1; }
    expect "numbers printed once each" "1" "$(pm logs "$name" | grep -cx 1)" || return 1
    expect "exec in the restored container" "sh" "$(pm exec "$name" cat /proc/1/comm)" || return 1
    # Its exit code reaches podman through conmon, as a created container's does.
    pm exec "$name" touch /stop || return 1
    expect "exit code after restore" "3" "$(pm wait "$name")" || return 1
    pm rm -f -t 0 "$name" >/dev/null
}

# `checkpoint --export` to a tar and `restore --import` under a new name: the copy
# counts on from the checkpoint, in a container podman made anew.
t_checkpoint_export_import() {
    local name=truman-export-$$ copy=truman-import-$$ at
    pm run -d --name "$name" --label "$LABEL" --network none $IMAGE \
        sh -c 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done' >/dev/null || return 1
    wait_for 10 sh -c "[ \"\$(podman logs $name 2>/dev/null | wc -l)\" -ge 3 ]" || { echo "it never counted"; return 1; }
    pm container checkpoint --export "$WORK/checkpoint.tar.gz" "$name" >/dev/null || return 1
    at=$(last_count "$name")
    pm container restore --import "$WORK/checkpoint.tar.gz" --name "$copy" >/dev/null || return 1
    expect "the copy's state" "running" "$(podman inspect -f '{{.State.Status}}' "$copy")" || return 1
    wait_for 10 sh -c "[ \"\$(podman logs $copy 2>/dev/null | tail -n 1)\" -gt $((at + 2)) ]" ||
        { echo "the copy did not count on from $at: $(last_count "$copy")"; return 1; }
    pm rm -f -t 0 "$name" "$copy" >/dev/null
}

# On podman's bridge the container's network namespace is a path podman made: truman
# names it external to CRIU, and the restored container is back in it, its address
# the one it had.
t_checkpoint_restore_network() {
    local name=truman-checkpoint-net-$$ before after
    pm run -d --name "$name" --label "$LABEL" $IMAGE sleep 1000 >/dev/null || return 1
    before=$(pm exec "$name" ip -4 -o addr show eth0 | awk '{ print $4 }')
    [ -n "$before" ] || { echo "no address on eth0"; return 1; }
    pm container checkpoint "$name" >/dev/null || return 1
    pm container restore "$name" >/dev/null || return 1
    after=$(pm exec "$name" ip -4 -o addr show eth0 | awk '{ print $4 }')
    expect "address after restore" "$before" "$after" || return 1
    pm rm -f -t 0 "$name" >/dev/null
}

scenario tmpfs-copyup        t_tmpfs_copyup
scenario read-only-volume    t_read_only_volume
scenario no-cgroups          t_no_cgroups
scenario pod-user-namespace  t_pod_user_namespace
scenario checkpoint-restore  t_checkpoint_restore
scenario checkpoint-export-import t_checkpoint_export_import
scenario checkpoint-restore-network t_checkpoint_restore_network
summary
