#!/usr/bin/env bash
# The real clients: podman, containerd (ctr + the runc v2 shim) and docker run their
# smoke scenarios on a release build of truman; fails if any scenario fails. Run as root.
#
# The scenarios are the shared ones in ../shared/clients; integration-tests/clients holds
# a copy of them, used only where that directory is absent. truman's own scenarios for a
# client, where there are any, are integration-tests/client-scenarios/<client>.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${TRUMAN_CLIENTS:-../shared/clients}
if [ ! -x "$clients/setup.sh" ]; then
    clients=integration-tests/clients
    echo "clients: ../shared/clients not found, using the copy in $clients"
fi
bash scripts/build-release.sh
bash "$clients/setup.sh"
export TRUMAN_CLIENTS=$clients
failed=0
for client in podman containerd docker; do
    echo "== $client"
    bash "$clients/$client-smoke.sh" target/release/truman || failed=1
    own=integration-tests/client-scenarios/$client.sh
    if [ -f "$own" ]; then
        echo "== $client (truman's own scenarios)"
        bash "$own" target/release/truman || failed=1
    fi
done
# Rootless podman: a user without privilege runs podman with truman.
echo "== podman, rootless (truman's own scenarios)"
bash integration-tests/client-scenarios/podman-rootless.sh target/release/truman || failed=1
exit "$failed"
