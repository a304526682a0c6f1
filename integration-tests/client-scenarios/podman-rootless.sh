#!/usr/bin/env bash
# podman-rootless.sh RUNTIME_BINARY
# Rootless podman (a normal user running podman) with `--runtime RUNTIME_BINARY`, the
# way a user without root runs containers on this host. Run as root: the script sets up,
# idempotently, what such a user needs, then runs every scenario as that user.
#  - packages: uidmap (newuidmap/newgidmap), podman, conmon, catatonit (pod infra);
#  - a dedicated user ($ROOTLESS_USER, default truman-rootless) with a home and the
#    subordinate ids 300000-365535 in /etc/subuid and /etc/subgid (100000-165535 is
#    other tests'), an XDG_RUNTIME_DIR /run/user/<uid> (no logind here), and its own
#    podman config: the vfs storage driver (no fuse-overlayfs), cgroup manager
#    cgroupfs and the file events logger (no systemd), no network by default;
#  - localhost/busybox:test loaded into that user's store from the OCI archive that
#    the shared clients' setup.sh leaves in /var/tmp/clients-smoke (run it once first).
# Every container runs with `--network none`: slirp4netns, rootless podman's default,
# cannot open /dev/net/tun (mode 0600) on this host. The host is cgroup v1, where
# rootless podman has no cgroups at all: it asks the runtime for none (no cgroupsPath)
# and ignores resource flags with a warning. (`--cgroups=disabled` is refused for a
# runtime not listed in runtime_supports_nocgroups, crun only by default, and runc has
# no such mode: podman.sh covers it rootful.) The scenarios do what a user does here.
# The runtime binary is copied to a temporary directory the user can reach.
# At the end the containers, pods, the copy and the temporary files are removed, and
# the user's processes this run started (podman's pause process) are killed by PID;
# the user, its config and its image store (busybox, podman's pause image) stay, so
# that the next run is quick.
# Prints "PASS name" / "FAIL name: reason" per scenario, then "N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENTS=${TRUMAN_CLIENTS:-$HERE/../../../shared/clients}
[ -r "$CLIENTS/lib.sh" ] || CLIENTS=$HERE/../clients
. "$CLIENTS/lib.sh"
need_root
RT=$(need_runtime "$@") || exit 2

IMAGE=localhost/busybox:test
ARCHIVE=${SMOKE_CACHE:-/var/tmp/clients-smoke}/busybox-oci.tar
RUSER=${ROOTLESS_USER:-truman-rootless}
SUBID_FIRST=300000
SUBID_COUNT=65536
SUBID_LAST=$((SUBID_FIRST + SUBID_COUNT - 1))
LABEL=truman-scenarios=podman-rootless-$$
P=rootless-$$

die() { echo "podman-rootless.sh: $*" >&2; exit 2; }

# --- setup (idempotent) ---------------------------------------------------------
missing=""
for p in uidmap podman conmon catatonit util-linux; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 $missing >/dev/null ||
        die "cannot install$missing"
fi
[ -s "$ARCHIVE" ] || die "$ARCHIVE missing: run $CLIENTS/setup.sh first"

# The user; useradd would give it the first free subordinate ids (100000-165535 here):
# SUB_*_COUNT=0 stops that, the ranges are set below.
if ! id -u "$RUSER" >/dev/null 2>&1; then
    useradd -m -s /bin/sh -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$RUSER" || die "cannot create user $RUSER"
fi
RUID=$(id -u "$RUSER"); RGID=$(id -g "$RUSER")
UHOME=$(getent passwd "$RUSER" | cut -d: -f6)
[ -d "$UHOME" ] || { mkdir -p "$UHOME" && chown "$RUID:$RGID" "$UHOME"; }

# Exactly one subordinate range per file for the user, ours, overlapping nobody's.
subids_changed=0
for f in /etc/subuid /etc/subgid; do
    touch "$f"
    if ! [ "$(awk -F: -v u="$RUSER" '$1 == u' "$f")" = "$RUSER:$SUBID_FIRST:$SUBID_COUNT" ]; then
        awk -F: -v a=$SUBID_FIRST -v b=$SUBID_LAST -v u="$RUSER" \
            '$1 != u && $2 <= b && $2 + $3 - 1 >= a { bad = 1 } END { exit !bad }' "$f" &&
            die "$f: another entry overlaps $SUBID_FIRST-$SUBID_LAST"
        { awk -F: -v u="$RUSER" '$1 != u' "$f"; echo "$RUSER:$SUBID_FIRST:$SUBID_COUNT"; } >"$f.rootless-tmp" &&
            chmod 644 "$f.rootless-tmp" && mv "$f.rootless-tmp" "$f" || die "cannot write $f"
        subids_changed=1
    fi
done

# XDG_RUNTIME_DIR, as logind would make it.
XDG=/run/user/$RUID
[ -d /run/user ] || mkdir -m 0755 /run/user
if [ ! -d "$XDG" ]; then
    mkdir -m 0700 "$XDG" && chown "$RUID:$RGID" "$XDG" || die "cannot make $XDG"
fi
[ "$(stat -c %u "$XDG")" = "$RUID" ] || die "$XDG is not owned by $RUSER"

# The user's podman config.
CONF=$UHOME/.config/containers
mkdir -p "$CONF"
cat >"$CONF/storage.conf" <<'EOF'
# written by truman's podman-rootless.sh
[storage]
driver = "vfs"
EOF
cat >"$CONF/containers.conf" <<'EOF'
# written by truman's podman-rootless.sh: no systemd, no network
[containers]
netns = "none"
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
chown -R "$RUID:$RGID" "$UHOME/.config"

# as_user COMMAND...: COMMAND as the user, in its home, with a login-like environment.
as_user() {
    (cd "$UHOME" && runuser -u "$RUSER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
        HOME="$UHOME" USER="$RUSER" LOGNAME="$RUSER" XDG_RUNTIME_DIR="$XDG" "$@")
}
# The time limit runs as the user, so that it ends podman itself, not runuser.
upodman() { as_user timeout -k 5 "$CMD_TIMEOUT" podman "$@"; }

# A user's processes: its own uid and its subordinate ids (containers' processes).
user_pids() {
    ps -e -o pid=,uid= | awk -v u="$RUID" -v a=$SUBID_FIRST -v b=$SUBID_LAST \
        '$2 == u || ($2 >= a && $2 <= b) { print $1 }' | sort
}
# no_podman_left: none of the user's conmon or podman processes is running.
no_podman_left() { ! ps -u "$RUID" -o comm= | grep -qxE 'conmon|podman'; }
PIDS_BEFORE=$(user_pids)

[ "$subids_changed" = 1 ] && upodman system migrate >/dev/null 2>&1
upodman image exists "$IMAGE" 2>/dev/null || upodman load -q <"$ARCHIVE" >/dev/null ||
    die "cannot load $ARCHIVE into $RUSER's store"

# The runtime, where the user can run it, under its own name (podman goes by the name).
RTDIR=$(mktemp -d /tmp/truman-rootless-rt.XXXXXX)
chmod 0755 "$RTDIR"
URT=$RTDIR/$(basename "$RT")
cp "$RT" "$URT" && chmod 0755 "$URT" || die "cannot copy $RT"

WORK=$(mktemp -d /tmp/truman-podman-rootless.XXXXXX)
chmod 0711 "$WORK"
VOLUME=$WORK/volume
mkdir "$VOLUME" && chown "$RUID:$RGID" "$VOLUME"

# pm ARGS...: podman with the runtime. Its stderr still reaches the scenario; its last
# line (but the host's "not a shared mount" warning) is kept for want's reason.
pm() {
    local rc
    upodman --runtime "$URT" "$@" 2>"$WORK/pm.err"; rc=$?
    if [ -s "$WORK/pm.err" ]; then
        cat "$WORK/pm.err" >&2
        grep -v 'is not a shared mount' "$WORK/pm.err" | grep . | tail -n 1 >"$WORK/pm.last"
        [ -s "$WORK/pm.last" ] && mv "$WORK/pm.last" "$WORK/last.err"
    fi
    return $rc
}
prun() { pm run --label "$LABEL" --network none "$@"; }
state() { pm inspect --format '{{.State.Status}}' "$1" 2>&1; }

# want WHAT WANT GOT: expect, with what podman last said on stderr in this scenario.
want() {
    [ "$2" = "$3" ] && return 0
    local said
    said=$(cat "$WORK/last.err" 2>/dev/null)
    echo "$1: want '$2', got '$(printf '%s' "$3" | tr '\n' ' ' | cut -c1-200)'${said:+ (podman: $said)}"
    return 1
}
# run_scenario NAME FUNCTION: scenario, each with its own podman stderr.
run_scenario() { : >"$WORK/last.err"; scenario "$@"; }

cleanup() {
    local ids pid
    ids=$(upodman pod ps -q --filter "label=$LABEL" 2>/dev/null)
    [ -n "$ids" ] && pm pod rm -f -t 0 $ids >/dev/null 2>&1
    ids=$(upodman ps -aq --filter "label=$LABEL" 2>/dev/null)
    [ -n "$ids" ] && pm rm -f -t 0 $ids >/dev/null 2>&1
    # conmon and podman's cleanup processes end on their own; then what this run
    # started and left (podman's pause process, anything a runtime leaked) is killed.
    wait_for 10 no_podman_left
    for pid in $(comm -13 <(echo "$PIDS_BEFORE") <(user_pids)); do
        kill -KILL "$pid" 2>/dev/null
    done
    rm -rf "$WORK" "$RTDIR"
}
trap cleanup EXIT

# --- one-shot containers -------------------------------------------------------
t_run_rm() {
    want output hello "$(prun --rm $IMAGE echo hello)"
}
t_run_exit_code() {
    prun --rm $IMAGE sh -c 'exit 3'
    want "exit code" 3 $?
}
# Without --userns podman asks for no user namespace: the container lives in podman's
# own (root is the user, 1-65536 its subordinate ids).
t_run_rootless_root() {
    want "uid_map gid_map id" "0 $RUID 1 1 $SUBID_FIRST $SUBID_COUNT 0 $RGID 1 1 $SUBID_FIRST $SUBID_COUNT 0:0" \
        "$(echo $(prun --rm $IMAGE sh -c 'cat /proc/self/uid_map /proc/self/gid_map; echo $(id -u):$(id -g)'))"
}
# --uidmap/--gidmap: a user namespace of the container's own, nested in podman's; the
# host ids are podman's (1 is the first subordinate id).
t_run_uidmap() {
    want "uid_map gid_map id" "0 1 1000 0 1 1000 0:0" \
        "$(echo $(prun --rm --uidmap 0:1:1000 --gidmap 0:1:1000 $IMAGE sh -c \
            'cat /proc/self/uid_map /proc/self/gid_map; echo $(id -u):$(id -g)'))"
}
t_run_keep_id() {
    want "id -u id -g" "$RUID $RGID" "$(echo $(prun --rm --userns=keep-id $IMAGE sh -c 'id -u; id -g'))"
}
# A directory of the user's, bind-mounted: what the container's root writes is the user's.
t_run_volume() {
    as_user sh -c "echo from-host >'$VOLUME/in'" || return 1
    want "read volume" from-host "$(prun --rm -v "$VOLUME:/data" $IMAGE sh -c 'cat /data/in; echo from-ctr >/data/out')" || return 1
    want "written on the host" from-ctr "$(cat "$VOLUME/out" 2>&1)" || return 1
    want "owner on the host" "$RUSER" "$(stat -c %U "$VOLUME/out")"
}
# What a user asking for limits gets here: on cgroup v1 podman runs the container
# without them and says so.
t_run_limits() {
    local out
    out=$(prun --rm --memory 64m --pids-limit 50 $IMAGE echo ran 2>"$WORK/limits.err")
    want output ran "$out" || { cat "$WORK/limits.err"; return 1; }
    if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
        expect_match warning 'Resource limits are not supported and ignored on cgroups V1 rootless' "$(cat "$WORK/limits.err")"
    fi
}

# --- one long-running container, driven through its lifecycle -----------------
C=$P-main
logs_have() { pm logs $C 2>/dev/null | grep -q "$1"; }
t_run_detached() {
    prun -d --name $C $IMAGE sh -c '
        trap "echo got-TERM; exit 0" TERM
        echo started; while true; do sleep 0.2; done' >/dev/null || return 1
    want state running "$(state $C)"
}
t_exec() {
    want "exec output" "in-container 0 smoke" "$(pm exec -e W=smoke $C sh -c 'echo in-container $(id -u) $W')"
}
t_exec_exit_code() {
    pm exec $C sh -c 'exit 7'
    want "exit code" 7 $?
}
t_logs() {
    wait_for 5 logs_have started || { echo "no 'started' in logs: $(pm logs $C 2>&1)"; return 1; }
}
t_stop() {
    # the trap exits 0 on SIGTERM: stop must be quick and the exit code 0
    local start=$SECONDS
    pm stop -t 20 $C >/dev/null || return 1
    want state exited "$(state $C)" || return 1
    want "exit code" 0 "$(pm inspect --format '{{.State.ExitCode}}' $C)" || return 1
    [ $((SECONDS - start)) -lt 10 ] || { echo "stop took $((SECONDS - start))s, SIGTERM ignored?"; return 1; }
    logs_have got-TERM || { echo "no 'got-TERM' in logs"; return 1; }
}
t_rm() {
    pm rm $C >/dev/null || return 1
    if upodman container exists $C; then echo "container still exists"; return 1; fi
}

# --- a pod: an infra container and one joining its namespaces -------------------
POD=$P-pod
t_pod_create() {
    pm pod create --name $POD --label "$LABEL" --network none >/dev/null || return 1
    upodman pod exists $POD || { echo "pod missing"; return 1; }
}
t_pod_run() {
    local infra ipid cpid ns
    # no --network: the pod's network namespace (the infra container's) is the one
    pm run -d --label "$LABEL" --pod $POD --name $P-inpod $IMAGE sleep 300 >/dev/null || return 1
    want "pod state" Running "$(pm pod inspect --format '{{.State}}' $POD 2>&1)" || return 1
    want hostname $POD "$(pm exec $P-inpod hostname)" || return 1
    infra=$(pm pod inspect --format '{{.InfraContainerID}}' $POD)
    ipid=$(pm inspect --format '{{.State.Pid}}' "$infra")
    cpid=$(pm inspect --format '{{.State.Pid}}' $P-inpod)
    for ns in net ipc uts; do
        want "$ns namespace shared with the infra container" \
            "$(readlink /proc/$ipid/ns/$ns)" "$(readlink /proc/$cpid/ns/$ns 2>&1)" || return 1
    done
}
t_pod_rm() {
    pm pod rm -f -t 0 $POD >/dev/null || return 1
    if upodman pod exists $POD; then echo "pod still exists"; return 1; fi
    if upodman container exists $P-inpod; then echo "container of the pod still exists"; return 1; fi
}

run_scenario run-rm               t_run_rm
run_scenario run-exit-code        t_run_exit_code
run_scenario run-rootless-root    t_run_rootless_root
run_scenario run-uidmap           t_run_uidmap
run_scenario run-userns-keep-id   t_run_keep_id
run_scenario run-volume           t_run_volume
run_scenario run-limits-cgroup-v1 t_run_limits
run_scenario run-detached         t_run_detached
run_scenario exec                 t_exec
run_scenario exec-exit-code       t_exec_exit_code
run_scenario logs                 t_logs
run_scenario stop                 t_stop
run_scenario rm                   t_rm
run_scenario pod-create           t_pod_create
run_scenario pod-run              t_pod_run
run_scenario pod-rm               t_pod_rm
summary
