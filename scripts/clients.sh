#!/usr/bin/env bash
# The real clients: podman, containerd (ctr + the runc v2 shim) and docker run their
# smoke scenarios on a release build of truman; fails if any scenario fails. Run as root.
#
# The scenarios are the shared ones in ../shared/clients; integration-tests/clients holds
# a copy of them, used only where that directory is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${TRUMAN_CLIENTS:-../shared/clients}
if [ ! -x "$clients/setup.sh" ]; then
    clients=integration-tests/clients
    echo "clients: ../shared/clients not found, using the copy in $clients"
fi
cargo build --release --quiet
bash "$clients/setup.sh"
failed=0
for client in podman containerd docker; do
    echo "== $client"
    bash "$clients/$client-smoke.sh" target/release/truman || failed=1
done
exit "$failed"
