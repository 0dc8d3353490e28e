#!/usr/bin/env bash
# Makes the TLS material the manifests mount, and creates it as Secrets in namespace swarm:
#   mosquitto-tls        ca.crt, server.crt, server.key       (the broker)
#   swarm-mqtt-clients   ca.crt, queen.crt/.key, <node>.crt/.key for every bee node, operator.crt/.key
# A bee's certificate common name is its node's name: the ACL lets it write rip/<its name> only.
# Usage: deploy/k8s/make-certs.sh [--out DIR] [--broker-name NAME] [NODE...]   (nodes default to kubectl get nodes)
set -euo pipefail
out=./swarm-certs
broker=mosquitto.swarm.svc.cluster.local
nodes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --broker-name) broker=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) nodes+=("$1"); shift ;;
  esac
done
if [ ${#nodes[@]} -eq 0 ]; then
  mapfile -t nodes < <(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
fi
mkdir -p "$out" && cd "$out"
[ -f ca.key ] || openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=swarm-ca" -keyout ca.key -out ca.crt 2>/dev/null

issue() { # name, subjectAltName
  [ -f "$1.crt" ] && return
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -out "$1.crt" \
    -extfile <(printf 'subjectAltName=%s\n' "$2") 2>/dev/null
  rm -f "$1.csr"
  echo "issued $1"
}
issue server "DNS:$broker,DNS:mosquitto"
issue queen "DNS:queen"
issue operator "DNS:operator"
for node in "${nodes[@]}"; do issue "$node" "DNS:$node"; done

kubectl get namespace swarm >/dev/null 2>&1 || kubectl create namespace swarm
kubectl -n swarm create secret generic mosquitto-tls --from-file=ca.crt --from-file=server.crt --from-file=server.key \
  --dry-run=client -o yaml | kubectl apply -f -
clients=(--from-file=ca.crt --from-file=queen.crt --from-file=queen.key --from-file=operator.crt --from-file=operator.key)
for node in "${nodes[@]}"; do clients+=(--from-file="$node.crt" --from-file="$node.key"); done
kubectl -n swarm create secret generic swarm-mqtt-clients "${clients[@]}" --dry-run=client -o yaml | kubectl apply -f -
echo "secrets mosquitto-tls and swarm-mqtt-clients are in namespace swarm; keep $out (the CA key) safe"
