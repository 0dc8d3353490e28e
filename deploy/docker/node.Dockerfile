# Swarm.Node (every role) with the swarm CLI beside it (the preStop hook runs `swarm cluster leave`).
# Build from the repository root:  docker build -f deploy/docker/node.Dockerfile -t swarm-node .
# The edge bee's image (native, Swarm:Roles=edge, dials out only):  docker build -f deploy/docker/node.Dockerfile --target edge -t swarm-edge .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TARGETARCH
# clang and zlib: the swarm CLI beside the host is a NativeAOT binary.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends clang zlib1g-dev >/dev/null
WORKDIR /src
COPY . .
# ReadyToRun (precompiled for the image's platform, still run by dotnet): a node starts on a third less CPU.
RUN dotnet publish src/Swarm.Node/Swarm.Node.csproj -c Release -a "${TARGETARCH:-amd64}" --self-contained false -p:PublishReadyToRun=true -o /app \
 && dotnet publish src/Swarm.Cli/Swarm.Cli.csproj -c Release -a "${TARGETARCH:-amd64}" -o /cli && cp /cli/swarm /app/swarm

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app .
# Not root: ICMP goes through datagram sockets, allowed by the pod's net.ipv4.ping_group_range sysctl
# (see deploy/README.md), so the image needs no capability.
# By number: a kubelet checking runAsNonRoot cannot resolve a name; 1654 is the app user of the .NET images.
USER 1654
ENV Swarm__DataDir=/var/lib/swarm \
    Swarm__Management__Url=http://0.0.0.0:9110 \
    CLUSTER_PORT=4055
EXPOSE 9110 4055
ENTRYPOINT ["dotnet", "/app/Swarm.Node.dll"]

# An edge bee: Swarm.Node's native build (NativeAOT, edge role only), nothing but an outbound MQTT connection.
FROM build AS edge-build
RUN dotnet publish src/Swarm.Node/Swarm.Node.csproj -c Release -a "${TARGETARCH:-amd64}" -p:NativeEdge=true -o /edge

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0 AS edge
WORKDIR /app
COPY --from=edge-build /edge/Swarm.Node /edge/libe_sqlite3.so /edge/appsettings.json /app/
COPY --from=build /app/swarm /app/swarm
# Its journal and outbox: a folder the bee's user owns, for a volume to mount over or to live in the container.
RUN install -d -o 1654 -g 1654 /var/lib/swarm
USER 1654
ENV Swarm__Roles=edge \
    Swarm__DataDir=/var/lib/swarm \
    Swarm__Management__Url=http://0.0.0.0:9110
EXPOSE 9110
ENTRYPOINT ["/app/Swarm.Node"]

# The default: a cluster node.
FROM runtime AS node
