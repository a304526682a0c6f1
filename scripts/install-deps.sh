#!/usr/bin/env bash
# Installs what building and testing truman needs on Debian 12: a static busybox for
# the test root filesystems, libseccomp, libelf and zlib (libbpf, for cgroup v2 device
# programs), iproute2 (the network tests make their own links and namespaces with `ip`),
# runc for the side-by-side parity tests, and uidmap (newuidmap, newgidmap) for the
# rootless tests, which run truman as a user they make (integration-tests/src/rootless.rs);
# and a CRIU that works on this kernel for checkpoint and restore (scripts/criu.sh).
# Idempotent: asks apt only when something is missing.
set -euo pipefail
packages=(busybox-static libseccomp-dev libelf-dev zlib1g-dev pkg-config procps iproute2 runc uidmap)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine's package lists may be missing or a mirror briefly away: retry.
    for attempt in 1 2 3; do
        apt-get update -qq && break
        [ "$attempt" -eq 3 ] && exit 1
        sleep 5
    done
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
fi
bash "$(dirname "$0")/criu.sh"
