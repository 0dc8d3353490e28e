#!/usr/bin/env bash
# Runs every test on a fresh Debian machine: installs what the tests start for real (mosquitto), then dotnet test.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_sub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need+=(nftables)   # loss made in a test namespace
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || need+=(iproute2)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)           # the production journal, for real
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)                           # scrapes a node, fires the shipped rules
command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-dejavu-core)            # the live page, in a real browser
[ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)                                      # a real DNS server for dns:// probes
command -v mtr >/dev/null 2>&1 || need+=(mtr-tiny)                                    # the reference trace:// is compared with
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)                                 # validates Kubernetes manifests offline
command -v clang >/dev/null 2>&1 || need+=(clang)                                     # links the NativeAOT swarm
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]} (the tests start a real broker and database, and make test networks)"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The Kubernetes schemas, for validating the rendered manifests offline (kubectl renders them).
if [ ! -d deploy/k8s/tools/node_modules/kubernetes-models ]; then
  echo "test.sh: installing the Kubernetes schemas (npm, deploy/k8s/tools)"
  npm install --prefix deploy/k8s/tools --no-audit --no-fund --loglevel=error >/dev/null
fi

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

# The native swarm, as shipped (NativeAOT, trimmed): NativeCliTests runs it against loopback.
rid=linux-x64; [ "$(uname -m)" = aarch64 ] && rid=linux-arm64
echo "test.sh: publishing the native swarm ($rid, NativeAOT) into src/Swarm.Cli/bin/native/$rid"
dotnet publish src/Swarm.Cli/Swarm.Cli.csproj -c Release -r "$rid" -o "src/Swarm.Cli/bin/native/$rid" --nologo -v quiet
# The native edge bee (NativeAOT, about 3 minutes on 2 cores): EdgeProcessTests runs it as the .dll build is run.
echo "test.sh: publishing the native edge bee ($rid, NativeAOT) into src/Swarm.Node/bin/native/$rid"
dotnet publish src/Swarm.Node/Swarm.Node.csproj -c Release -r "$rid" -p:NativeEdge=true -o "src/Swarm.Node/bin/native/$rid" --nologo -v quiet

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test Swarm.sln --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The test host is sometimes ended without running exit handlers: stop what the fixtures started, found by the
# private folders only they use (mosquitto and PostgreSQL data under /tmp/swarm-test-*, /tmp/swarm-pg-*).
pkill -f "mosquitto -c /tmp/swarm-test-" 2>/dev/null
pkill -f "postgres -D /tmp/swarm-pg-" 2>/dev/null
for pid in $(pgrep -x postgres); do   # its children, by the folder they run in
  case "$(readlink "/proc/$pid/cwd" 2>/dev/null)" in /tmp/swarm-pg-*) kill -9 "$pid" 2>/dev/null ;; esac
done
pkill -f "prometheus --config.file=/tmp/swarm-test-" 2>/dev/null
pkill -f "chromium.*--user-data-dir=/tmp/swarm-test-" 2>/dev/null
set -e

# One plain closing line, whatever the runner printed: "N passed, N failed, N skipped".
count() { grep -aE "^\s+$1: +[0-9]+" "$log" | awk '{ n += $2 } END { print n + 0 }'; }
total=$(grep -aE '^Total tests: +[0-9]+' "$log" | awk '{ n += $3 } END { print n + 0 }')
if [ "$total" -gt 0 ]; then
  # The failures again, at the end where a truncated log still shows them: the test's name and its message.
  awk '/^  Failed [A-Za-z]/ { n = 12 } n > 0 { print; n-- }' "$log" | sed 's/^/  >> /'
  echo "$(count Passed) passed, $(count Failed) failed, $(count Skipped) skipped"
fi
exit "$status"
