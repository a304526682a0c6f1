#!/usr/bin/env bash
# docker.sh RUNTIME_BINARY
# truman's own docker scenarios, beside the shared smoke ones (docker-smoke.sh): what
# issue reports found docker asking of a runtime. Like the smoke script, starts a
# private dockerd (own data-root, exec-root, socket and cgroup parent; no iptables, no
# bridge) with `--add-runtime truman=RUNTIME_BINARY`, loads the busybox test image and
# runs `docker run --runtime truman`; stops that dockerd (by PID) and removes what it made.
# Prints "PASS name" / "FAIL name: reason" per scenario, then "N passed, N failed".
# Needs the shared clients' setup.sh to have run once.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# The shared helpers, or their copy in integration-tests/clients where the shared
# directory is absent (scripts/clients.sh passes the one it chose as TRUMAN_CLIENTS).
CLIENTS=${TRUMAN_CLIENTS:-$HERE/../../../shared/clients}
[ -r "$CLIENTS/lib.sh" ] || CLIENTS=$HERE/../clients
. "$CLIENTS/lib.sh"
need_root
RT=$(need_runtime "$@") || exit 2

ARCHIVE=${SMOKE_CACHE:-/var/tmp/clients-smoke}/busybox-docker.tar
IMAGE=localhost/busybox:test
DOCKER=/usr/bin/docker                   # the Debian client, matching the daemon
WORK=$(mktemp -d /tmp/truman-docker.XXXXXX)
SOCK=$WORK/docker.sock
CGROUP_PARENT=truman-scenarios-$$
LABEL=truman-scenarios=docker-$$
P=truman-$$
DAEMON_PID=

[ -s "$ARCHIVE" ] || { echo "$ARCHIVE missing: run $CLIENTS/setup.sh first" >&2; exit 2; }

d() { limited "$DOCKER" -H "unix://$SOCK" "$@"; }
drun() { d run --runtime truman --label "$LABEL" "$@"; }

cleanup() {
    local ids pid
    if [ -n "$DAEMON_PID" ]; then
        ids=$(d ps -aq --filter "label=$LABEL" 2>/dev/null)
        [ -n "$ids" ] && d rm -f $ids >/dev/null 2>&1
        kill "$DAEMON_PID" 2>/dev/null     # dockerd stops its containerd itself
        for _ in $(seq 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$DAEMON_PID" 2>/dev/null
        # containerd and shims that outlived it name our directory on their command line
        for pid in $(grep -l -F -- "$WORK/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
            case $(cat "/proc/$pid/comm" 2>/dev/null) in containerd|containerd-shim*) kill -9 "$pid" ;; esac
        done
    fi
    findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rmdir /sys/fs/cgroup/*/"$CGROUP_PARENT" /sys/fs/cgroup/"$CGROUP_PARENT" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# Started here, not inside a scenario (a subshell), so that cleanup knows its PID.
dockerd --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/docker.pid" \
    -H "unix://$SOCK" --iptables=false --ip6tables=false --ip-masq=false --bridge=none \
    --cgroup-parent "/$CGROUP_PARENT" --add-runtime "truman=$RT" >"$WORK/dockerd.log" 2>&1 &
DAEMON_PID=$!

t_daemon_start() {
    wait_for 30 "$DOCKER" -H "unix://$SOCK" version ||
        { echo "dockerd not answering: $(tail -n 3 "$WORK/dockerd.log")"; return 1; }
    expect_match "runtimes" truman "$(d info --format '{{json .Runtimes}}')"
}
t_image_load() {
    d load -q -i "$ARCHIVE" >/dev/null || return 1
    d image inspect $IMAGE >/dev/null
}

# --device-cgroup-rule 'b 8:* rmw' reaches the runtime as `"minor": -1`. From inside:
# the container's own devices.list (cgroup v1) names the rule, and of two block
# devices made with mknod, the one with major 8 passes the devices cgroup (its open
# fails, if at all, for want of a driver: ENXIO where the host has no sd disk) while
# one with major 9 is refused (EPERM).
DEVICE_CHECK='
    list=/sys/fs/cgroup/devices/devices.list
    if [ -e $list ]; then grep -qx "b 8:\* rwm" $list && echo listed || echo not-listed; fi
    mknod /dev/b8 b 8 3 && mknod /dev/b9 b 9 0 || exit 1
    for d in b8 b9; do
        if head -c 1 /dev/$d 2>&1 >/dev/null | grep -q "not permitted"
        then echo $d:denied; else echo $d:allowed; fi
    done'
# What a v1 host lists; cgroup v2 has no devices.list, only the device program.
if [ -d /sys/fs/cgroup/devices ]; then WANT_DEVICES="listed b8:allowed b9:denied"
else WANT_DEVICES="b8:allowed b9:denied"; fi

t_device_cgroup_rule() {
    expect "devices (docker run --device-cgroup-rule 'b 8:* rmw')" "$WANT_DEVICES" \
        "$(echo $(drun --rm --network none --device-cgroup-rule 'b 8:* rmw' $IMAGE sh -c "$DEVICE_CHECK" 2>&1))"
}
# docker update hands the runtime the container's resources again, its device rules
# with them: they must still hold afterwards.
t_device_cgroup_rule_after_update() {
    local c=$P-devices
    drun -d --name $c --network none --device-cgroup-rule 'b 8:* rmw' $IMAGE sleep 300 >/dev/null || return 1
    d update --memory 96m --memory-swap 96m --pids-limit 77 $c >/dev/null || return 1
    expect "pids.max after update" 77 "$(d exec $c sh -c 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max')" || return 1
    expect "devices after docker update" "$WANT_DEVICES" "$(echo $(d exec $c sh -c "$DEVICE_CHECK" 2>&1))" || return 1
    d rm -f $c >/dev/null
}

scenario daemon-start                     t_daemon_start
scenario image-load                       t_image_load
scenario device-cgroup-rule               t_device_cgroup_rule
scenario device-cgroup-rule-after-update  t_device_cgroup_rule_after_update
summary
