# The swarm CLI alone, for operators and CI jobs:  docker run --rm swarm-cli --host http://queen:9110 cluster show
# Build from the repository root:  docker build -f deploy/docker/cli.Dockerfile -t swarm-cli .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Swarm.Cli/Swarm.Cli.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/runtime:10.0
WORKDIR /app
COPY --from=build /app .
# By number: a kubelet checking runAsNonRoot cannot resolve a name; 1654 is the app user of the .NET images.
USER 1654
ENTRYPOINT ["dotnet", "/app/swarm.dll"]
