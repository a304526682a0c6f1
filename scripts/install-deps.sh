#!/usr/bin/env bash
# Installs what building and testing truman needs on Debian 12: a static busybox for
# the test root filesystems, libseccomp, and runc for the side-by-side parity tests.
# Idempotent: asks apt only when something is missing.
set -euo pipefail
packages=(busybox-static libseccomp-dev libelf-dev zlib1g-dev pkg-config procps runc)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
