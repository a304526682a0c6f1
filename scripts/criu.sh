#!/usr/bin/env bash
# A CRIU that works on this kernel, for checkpoint and restore and their tests: the
# `criu` on PATH if `criu check` passes, else CRIU 4.2 built from ../shared/criu (or
# TRUMAN_CRIU_SOURCE) into /usr/local/sbin. Debian 12's criu 3.17 fails on Linux 6.x
# ("vdso: Unexpected rt vDSO area bounds"). Run as root; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
works() {
    command -v criu >/dev/null 2>&1 && criu check --no-default-config >/dev/null 2>&1
}
# CRIU keeps its kernel-feature cache in /run only on a tmpfs, and leaves a
# temporary file behind where /run is not one.
tidy() { rm -f /run/criu.kdat.tmp; }
trap tidy EXIT
if works; then
    exit 0
fi
source=${TRUMAN_CRIU_SOURCE:-../shared/criu}
if [ ! -f "$source/build.sh" ]; then
    echo "criu.sh: no working criu on PATH, and no $source/build.sh to build CRIU 4.2 with" >&2
    exit 1
fi
echo "criu.sh: building CRIU 4.2 from $source (criu on PATH does not pass 'criu check')"
bash "$source/build.sh"
if ! works; then
    echo "criu.sh: CRIU 4.2 was built, and 'criu check' still fails:" >&2
    criu check --no-default-config >&2 || true
    exit 1
fi
