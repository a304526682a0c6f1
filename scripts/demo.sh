#!/usr/bin/env bash
# Builds truman and runs one container from a default bundle made here: a busybox
# root filesystem and the config.json that `truman spec` writes. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build-release.sh
truman=$PWD/target/release/truman

bundle=$(mktemp -d /tmp/truman-demo.XXXXXX)
root=$(mktemp -d /tmp/truman-demo-state.XXXXXX)
trap 'rm -rf "$bundle" "$root"' EXIT
mkdir -p "$bundle/rootfs/bin"
cp "$(command -v busybox)" "$bundle/rootfs/bin/busybox"
for applet in $("$bundle/rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$bundle/rootfs/bin/$applet"
done
(cd "$bundle" && "$truman" spec)
# The default spec asks for a terminal and runs sh; the demo prints what the
# container sees instead.
sed -i 's/"terminal": true/"terminal": false/' "$bundle/config.json"
sed -i 's|"sh"$|"sh", "-c", "echo \\"Hello from $(hostname): I am PID $$, and I see:\\"; ls /"|' "$bundle/config.json"
"$truman" --root "$root" run --bundle "$bundle" demo
