#!/usr/bin/env bash
# Makes the TLS material the manifests mount, and creates it as Secrets in namespace swarm, one identity per Secret
# so that each pod mounts only its own:
#   mosquitto-tls              ca.crt, server.crt, server.key           the broker
#   swarm-mqtt-queen           ca.crt, queen.crt, queen.key             queens and indexers
#   swarm-mqtt-bees            ca.crt, <node>.crt/.key per bee node     mounted by the bee's init container only
#   swarm-cluster-<role>       ca.crt, tls.crt, tls.key                 mutual TLS between members (lighthouse, queen, bee)
# The operator's MQTT certificate (operator.crt/.key, the only one that may publish watch) stays in --out: it is
# never put in the cluster. Two CAs: mqtt-ca for the broker, cluster-ca for remoting, so no MQTT key joins the cluster.
# A bee's MQTT certificate common name is its node's name: the ACL lets it write rip/<its name> only.
# An edge bee's (--edge ID) is its Swarm:Bee:Id; it stays in --out, with no cluster certificate: copy ca.crt (mqtt-ca.crt)
# and ID.crt/.key to the device's /etc/swarm/mqtt/. It may read targets/# and write its results and rip/ID only.
# Usage: deploy/k8s/make-certs.sh [--out DIR] [--broker-name NAME] [--vm NAME]... [--edge ID]... [--edge-only] [NODE...]
#   NODE: bee nodes (default: kubectl get nodes); --vm NAME: also a cluster certificate for a VM member (systemd);
#   --edge-only: issue the edge bees' certificates (and the CAs if missing) and touch no cluster.
set -euo pipefail
out=./swarm-certs
broker=mosquitto.swarm.svc.cluster.local
nodes=()
vms=()
edges=()
edge_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --broker-name) broker=$2; shift 2 ;;
    --vm) vms+=("$2"); shift 2 ;;
    --edge)
      case "$2" in server|queen|operator|cluster-*) echo "make-certs.sh: '$2' is a reserved identity, not an edge bee's" >&2; exit 2 ;; esac
      edges+=("$2"); shift 2 ;;
    --edge-only) edge_only=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) nodes+=("$1"); shift ;;
  esac
done
if [ ${#nodes[@]} -eq 0 ] && [ $edge_only -eq 0 ]; then
  mapfile -t nodes < <(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
fi
mkdir -p "$out" && cd "$out"
for ca in mqtt-ca cluster-ca; do
  [ -f "$ca.key" ] || openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=swarm-$ca" -keyout "$ca.key" -out "$ca.crt" 2>/dev/null
done

issue() { # ca, name, subjectAltName
  [ -f "$2.crt" ] && return
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$2.key" -out "$2.csr" 2>/dev/null
  openssl x509 -req -in "$2.csr" -CA "$1.crt" -CAkey "$1.key" -CAcreateserial -days 825 -out "$2.crt" \
    -extfile <(printf 'subjectAltName=%s\n' "$3") 2>/dev/null
  rm -f "$2.csr"
  echo "issued $2 ($1)"
}
issue mqtt-ca server "DNS:$broker,DNS:mosquitto"
issue mqtt-ca queen "DNS:queen"
issue mqtt-ca operator "DNS:operator"
for node in "${nodes[@]}"; do issue mqtt-ca "$node" "DNS:$node"; done
for role in lighthouse queen bee; do issue cluster-ca "cluster-$role" "DNS:swarm-$role"; done
for vm in "${vms[@]}"; do issue cluster-ca "cluster-$vm" "DNS:$vm"; done
for edge in "${edges[@]}"; do issue mqtt-ca "$edge" "DNS:$edge"; done
if [ $edge_only -eq 1 ]; then
  for edge in "${edges[@]}"; do echo "edge bee $edge: copy mqtt-ca.crt (as ca.crt), $edge.crt and $edge.key from $out to its /etc/swarm/mqtt/"; done
  exit 0
fi

secret() { # name, files...
  local name=$1; shift
  kubectl -n swarm create secret generic "$name" "$@" --dry-run=client -o yaml | kubectl apply -f -
}
kubectl get namespace swarm >/dev/null 2>&1 || kubectl create namespace swarm
secret mosquitto-tls --from-file=ca.crt=mqtt-ca.crt --from-file=server.crt --from-file=server.key
secret swarm-mqtt-queen --from-file=ca.crt=mqtt-ca.crt --from-file=queen.crt --from-file=queen.key
bees=(--from-file=ca.crt=mqtt-ca.crt)
for node in "${nodes[@]}"; do bees+=(--from-file="$node.crt" --from-file="$node.key"); done
secret swarm-mqtt-bees "${bees[@]}"
for role in lighthouse queen bee; do
  secret "swarm-cluster-$role" --from-file=ca.crt=cluster-ca.crt --from-file=tls.crt="cluster-$role.crt" --from-file=tls.key="cluster-$role.key"
done
echo "secrets are in namespace swarm; operator.crt/.key stay here, with the CA keys: keep $out safe and out of the cluster"
for vm in "${vms[@]}"; do echo "VM $vm: copy cluster-ca.crt, cluster-$vm.crt and .key to /etc/swarm/cluster/{ca.crt,tls.crt,tls.key}"; done
