#!/usr/bin/env bash
# A longer fuzz run than CI's: every boundary's generated inputs (watch payloads, ping/+ into the indexer, the outbox
# on disk, the management API), with a seed of your choosing. Usage: bench/fuzz.sh [RUNS] [SEED]  (defaults 200000, now)
set -euo pipefail
cd "$(dirname "$0")/.."
export SWARM_FUZZ_RUNS=${1:-200000} SWARM_FUZZ_SEED=${2:-$(date +%s)}
echo "fuzz: $SWARM_FUZZ_RUNS runs per generator, seed $SWARM_FUZZ_SEED (give it back to replay a failure)"
dotnet test tests/Swarm.Tests -c Release --filter "FullyQualifiedName~Fuzz" --logger "console;verbosity=detailed" 2>&1 \
  | grep -aE "accepted|refused|runs,|good |payloads:|Passed|Failed|Error Message|Assert"
