#!/bin/sh
# Stands in for the runtime binary (`Runtime::at`) in tests/fds.rs: a caller
# that holds extra file descriptors when it runs the runtime.
#
# The harness always passes `--root DIR/root` first, DIR being the
# `Runtime`'s own directory. For each file DIR/fd3 .. DIR/fd9 that exists,
# open it read-only at that descriptor number, then exec DIR/runtime (a
# symlink to the real runtime) with the same arguments.
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
exec "$dir/runtime" "$@"
