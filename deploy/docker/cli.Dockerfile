# The swarm CLI alone, for operators and CI jobs:  docker run --rm swarm-cli --host http://queen:9110 cluster show
# Build from the repository root:  docker build -f deploy/docker/cli.Dockerfile -t swarm-cli .
# One native binary (NativeAOT, trimmed) for the build's platform (linux/amd64 or linux/arm64): no .NET runtime in the image.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TARGETARCH
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends clang zlib1g-dev >/dev/null
WORKDIR /src
COPY . .
RUN dotnet publish src/Swarm.Cli/Swarm.Cli.csproj -c Release -a "${TARGETARCH:-amd64}" -o /app

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
WORKDIR /app
COPY --from=build /app/swarm .
# By number: a kubelet checking runAsNonRoot cannot resolve a name; 1654 is the app user of the .NET images.
USER 1654
ENTRYPOINT ["/app/swarm"]
