#!/usr/bin/env bash
# Installs Swarm on a VM: binaries under /opt/swarm, configuration in /etc/swarm (kept if present), data in
# /var/lib/swarm, the systemd units, and `swarm` (the CLI) on the PATH. Run from the repository, as root:
#   deploy/systemd/install.sh [--root DIR] [--no-systemctl]     (--root: install into DIR, e.g. for packaging)
# Then edit /etc/swarm/node.env (or edge.env, lighthouse.env) and: systemctl enable --now swarm-node   (or swarm-edge, swarm-lighthouse)
set -euo pipefail
root=""
systemctl=1
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$2; shift 2 ;;
    --no-systemctl) systemctl=0; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/deploy/systemd"

command -v dotnet >/dev/null || { echo "install.sh: the .NET 10 SDK is needed to build (the runtime to run)" >&2; exit 1; }
echo "building into $root/opt/swarm"
rid=linux-x64; [ "$(uname -m)" = aarch64 ] && rid=linux-arm64
# ReadyToRun: precompiled for this machine (still run by dotnet), a node starts on a third less CPU.
for project in Swarm.Node:node Swarm.Lighthouse:lighthouse; do
  dotnet publish "$repo/src/${project%%:*}/${project%%:*}.csproj" -c Release -r "$rid" --self-contained false -p:PublishReadyToRun=true \
    -o "$root/opt/swarm/${project##*:}" --nologo -v quiet
done
# The CLI and the edge bee are native binaries (NativeAOT): linking them wants clang and zlib1g-dev.
command -v clang >/dev/null && [ -e /usr/include/zlib.h ] ||
  { echo "install.sh: clang and zlib1g-dev are needed to link the native swarm and edge bee (apt-get install clang zlib1g-dev)" >&2; exit 1; }
dotnet publish "$repo/src/Swarm.Cli/Swarm.Cli.csproj" -c Release -r "$rid" -o "$root/opt/swarm/cli" --nologo -v quiet
# The edge bee runs native too (NativeAOT, edge role only): about half the memory of the .dll build.
dotnet publish "$repo/src/Swarm.Node/Swarm.Node.csproj" -c Release -r "$rid" -p:NativeEdge=true -o "$root/opt/swarm/edge" --nologo -v quiet
cp "$repo/README.md" "$root/opt/swarm/README.md"

if [ -z "$root" ] && ! id swarm >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/swarm --shell /usr/sbin/nologin swarm
fi
install -d -m 0755 "$root/etc/swarm" "$root/etc/swarm/mqtt" "$root/usr/local/bin" "$root/etc/systemd/system"
install -d -m 0750 "$root/var/lib/swarm"
[ -z "$root" ] && chown swarm:swarm /var/lib/swarm
for env in node.env edge.env lighthouse.env; do
  if [ -f "$root/etc/swarm/$env" ]; then echo "kept $root/etc/swarm/$env"; else install -m 0640 "$here/$env" "$root/etc/swarm/$env"; echo "wrote $root/etc/swarm/$env: edit it"; fi
done
install -m 0644 "$here/swarm-node.service" "$here/swarm-edge.service" "$here/swarm-lighthouse.service" "$root/etc/systemd/system/"
ln -sf /opt/swarm/cli/swarm "$root/usr/local/bin/swarm"
if [ -z "$root" ] && [ $systemctl -eq 1 ] && command -v systemctl >/dev/null; then systemctl daemon-reload; fi
echo "installed. Next: edit /etc/swarm/node.env, then systemctl enable --now swarm-node; check with: swarm cluster show"
echo "  (an edge bee behind NAT: edit /etc/swarm/edge.env, then systemctl enable --now swarm-edge; check with: swarm bees)"
