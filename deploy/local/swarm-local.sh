#!/usr/bin/env bash
# A real multi-process swarm on this machine: mosquitto, one Lighthouse and N nodes on 127.0.0.x, each its own
# process with its own bee. Ctrl-C stops them all.
#   deploy/local/swarm-local.sh [--nodes N] [--port-base P] [--data DIR] [--configuration Debug|Release] [--no-build]
# Ports from P (default 11880): P mosquitto, P+1 Lighthouse (Akka), P+2 its management, P+10+i node i's management.
set -euo pipefail
nodes=3
base=11880
data=./swarm-local
configuration=Debug
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes=$2; shift 2 ;;
    --port-base) base=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --configuration) configuration=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "swarm-local: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$nodes" =~ ^[1-9][0-9]?$ ]] || { echo "swarm-local: --nodes must be 1 to 99" >&2; exit 2; }
mosquitto=$(command -v mosquitto || ls /usr/sbin/mosquitto 2>/dev/null || true)
[ -n "$mosquitto" ] || { echo "swarm-local: mosquitto is needed: apt-get install mosquitto mosquitto-clients" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$data"
data=$(cd "$data" && pwd)
bin() { echo "$repo/src/$1/bin/$configuration/net10.0/$1.dll"; }
if [ $build -eq 1 ]; then
  echo "swarm-local: building ($configuration)"
  dotnet build "$repo/Swarm.sln" -c "$configuration" --nologo -v quiet
fi

pids=()
stop() {
  trap - INT TERM EXIT
  echo "swarm-local: stopping ${#pids[@]} processes"
  # Nodes first (they leave the cluster), then the Lighthouse, then the broker.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for _ in $(seq 1 150); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "$data/pids"
  echo "swarm-local: stopped"
}
trap stop EXIT
trap 'exit 0' INT TERM
start() { # name, log file, command...
  local name=$1 log=$2; shift 2
  "$@" >"$log" 2>&1 &
  pids+=($!)
  echo "$!" >>"$data/pids"
  echo "swarm-local: started $name (pid $!, log $log)"
}
: >"$data/pids"

mqtt=$base
cat >"$data/mosquitto.conf" <<CONF
$([ "$(id -u)" -eq 0 ] && echo "user root")
listener $mqtt 127.0.0.1
allow_anonymous true
persistence true
persistence_location $data/
max_queued_messages 100000
log_dest file $data/mosquitto.log
CONF
start mosquitto "$data/mosquitto.out" "$mosquitto" -c "$data/mosquitto.conf"

seed="akka.tcp://swarm@127.0.0.1:$((base + 1))"
CLUSTER_IP=127.0.0.1 CLUSTER_PORT=$((base + 1)) Swarm__Management__Url=http://127.0.0.1:$((base + 2)) \
  start lighthouse "$data/lighthouse.log" dotnet "$(bin Swarm.Lighthouse)"

for i in $(seq 1 "$nodes"); do
  # One queen (its journal is SQLite, which one writer owns); every node has its bee.
  roles=bee; [ "$i" -eq 1 ] && roles=queen,bee
  CLUSTER_IP=127.0.0.$((i + 1)) CLUSTER_SEEDS=$seed \
  Swarm__Roles=$roles Swarm__Bee__Id=bee-$i Swarm__Bee__Location=local-$i \
  Swarm__DataDir="$data/node-$i" Swarm__Mqtt__Brokers__0=mqtt://127.0.0.1:$mqtt \
  Swarm__Management__Url=http://127.0.0.1:$((base + 10 + i)) Swarm__Targets__Default="127.0.0.1 ::1 localhost" \
    start "node-$i ($roles)" "$data/node-$i.log" dotnet "$(bin Swarm.Node)"
done

cat <<HELP

swarm-local: 1 Lighthouse and $nodes nodes, broker on 127.0.0.1:$mqtt. Look:
  mosquitto_sub -p $mqtt -t 'ping/+' -v                      results, from every bee
  mosquitto_pub -p $mqtt -t watch -m "127.0.0.1 localhost"    change what they probe
  dotnet $repo/src/Swarm.Cli/bin/$configuration/net10.0/swarm.dll cluster show --host http://127.0.0.1:$((base + 11))
  logs and data: $data
Ctrl-C stops everything.
HELP
# Runs until Ctrl-C, or until a process dies (then says which and stops the rest).
while true; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "swarm-local: process $pid exited; see the logs in $data" >&2
      exit 1
    fi
  done
  # In the background and waited for: a SIGINT sent to this script alone (not to its process group, as a terminal's
  # Ctrl-C is) interrupts `wait` and runs the trap at once, while bash would let a foreground sleep swallow it.
  sleep 1 &
  wait $!
done
