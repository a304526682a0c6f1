#!/bin/sh
# Stands in for the runtime binary (`Runtime::at`) in tests/fds.rs: a caller
# that holds extra file descriptors when it runs the runtime.
#
# The harness always passes `--root DIR/root` first, DIR being the
# `Runtime`'s own directory. For each file DIR/fd3 .. DIR/fd9 that exists,
# open it read-only at that descriptor number, then exec DIR/runtime (a
# symlink to the real runtime) with the same arguments.
#
# Where DIR/activation exists, the runtime is started as systemd starts a
# socket-activated service: LISTEN_FDS is the count it holds and LISTEN_PID
# the runtime's pid (this shell's, which exec keeps), or the pid in
# DIR/activation-for where that exists (activation meant for another process).
set -eu
if [ "${1:-}" != --root ] || [ $# -lt 2 ]; then
    echo "$0: expected --root DIR/root as the first arguments" >&2
    exit 2
fi
dir=$(dirname "$2")
for n in 3 4 5 6 7 8 9; do
    if [ -e "$dir/fd$n" ]; then
        eval "exec $n<\"\$dir/fd$n\""
    fi
done
if [ -e "$dir/activation" ]; then
    LISTEN_FDS=$(cat "$dir/activation")
    LISTEN_PID=$$
    [ -e "$dir/activation-for" ] && LISTEN_PID=$(cat "$dir/activation-for")
    export LISTEN_FDS LISTEN_PID
fi
exec "$dir/runtime" "$@"
