#!/usr/bin/env bash
# An `az batch` script as an Azure Batch user writes one (Azure CLI 2.91.0,
# api-version 2024-02-01.19.0), run unchanged against the emulator: only the
# account, key and endpoint come from the environment (BATCH_URL,
# BATCH_ACCOUNT, BATCH_KEY), plus an input blob SAS URL (RESOURCE_URL,
# holding RESOURCE_WORDS words), an output container SAS URL
# (OUTPUT_CONTAINER_URL) and RUN_ID. The CLI sends integer options as
# strings ("targetDedicatedNodes": "1"); the service accepts them.
set -euo pipefail

export AZURE_BATCH_ACCOUNT="$BATCH_ACCOUNT" AZURE_BATCH_ACCESS_KEY="$BATCH_KEY"
export AZURE_BATCH_ENDPOINT="$BATCH_URL"
pool="az-pool-$RUN_ID" job="az-job-$RUN_ID"
checks=0
work=$(mktemp -d)
cleanup() {
    az batch job delete --job-id "$job" --yes >/dev/null 2>&1 || true
    az batch pool delete --pool-id "$pool" --yes >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

check() {  # check WHAT EXPECTED ACTUAL
    if [[ "$2" != "$3" ]]; then
        echo "check failed: $1: expected '$2', got '$3'" >&2
        exit 1
    fi
    checks=$((checks + 1))
}

wait_for() {  # wait_for WHAT EXPECTED COMMAND...
    local what=$1 expected=$2 got=""
    shift 2
    for _ in $(seq 1 120); do
        got=$("$@")
        [[ "$got" == "$expected" ]] && break
        sleep 0.5
    done
    check "$what" "$expected" "$got"
}

az batch pool create --id "$pool" --vm-size standard_d2s_v3 --target-dedicated-nodes 1 \
    --image canonical:0001-com-ubuntu-server-jammy:22_04-lts \
    --node-agent-sku-id "batch.node.ubuntu 22.04" \
    --start-task-command-line "/bin/sh -c 'echo ready > \$AZ_BATCH_NODE_SHARED_DIR/ready'" \
    --start-task-wait-for-success -o none
wait_for "pool allocation" steady \
    az batch pool show --pool-id "$pool" --query allocationState -o tsv
wait_for "node state" idle \
    az batch node list --pool-id "$pool" --query "[0].state" -o tsv

az batch job create --id "$job" --pool-id "$pool" -o none
az batch task create --job-id "$job" --task-id failing --max-task-retry-count 1 \
    --command-line "/bin/sh -c 'echo trying; exit 3'" -o none
cat > "$work/count.json" <<JSON
{
  "id": "count",
  "commandLine": "/bin/sh -c 'wc -w < input.txt | tr -d \" \" > result.txt && cat \$AZ_BATCH_NODE_SHARED_DIR/ready'",
  "resourceFiles": [{"httpUrl": "$RESOURCE_URL", "filePath": "input.txt"}],
  "outputFiles": [{"filePattern": "result.txt",
                   "destination": {"container": {"containerUrl": "$OUTPUT_CONTAINER_URL",
                                                 "path": "az/result.txt"}},
                   "uploadOptions": {"uploadCondition": "taskSuccess"}}],
  "constraints": {"maxWallClockTime": "PT5M"}
}
JSON
az batch task create --job-id "$job" --json-file "$work/count.json" -o none

for task in failing count; do
    wait_for "task $task state" completed \
        az batch task show --job-id "$job" --task-id "$task" --query state -o tsv
done
check "failing task's exit code, retries, result" "3 1 failure" \
    "$(az batch task show --job-id "$job" --task-id failing \
       --query "[executionInfo.exitCode, executionInfo.retryCount, executionInfo.result]" \
       -o tsv | tr '\t\n' '  ' | sed 's/ $//')"
check "count task's result" success \
    "$(az batch task show --job-id "$job" --task-id count --query executionInfo.result -o tsv)"

az batch task file download --job-id "$job" --task-id count --file-path stdout.txt \
    --destination "$work/stdout.txt"
check "count task's stdout (the StartTask's file in the shared dir)" ready "$(cat "$work/stdout.txt")"
az batch task file download --job-id "$job" --task-id count --file-path wd/result.txt \
    --destination "$work/result.txt"
check "word count" "$RESOURCE_WORDS" "$(cat "$work/result.txt")"
check "task counts (succeeded failed)" "1 1" \
    "$(az batch job task-counts show --job-id "$job" \
       --query "[taskCounts.succeeded, taskCounts.failed]" -o tsv | tr '\t\n' '  ' | sed 's/ $//')"

if az batch pool show --pool-id "no-such-pool-$RUN_ID" >/dev/null 2>"$work/err"; then
    echo "check failed: a missing pool was shown" >&2
    exit 1
fi
check "a missing pool's error" 1 "$(grep -c '(PoolNotFound)' "$work/err")"

az batch job delete --job-id "$job" --yes
az batch pool delete --pool-id "$pool" --yes
wait_for "pool gone" "" \
    az batch pool list --query "[?id=='$pool'].id" -o tsv
echo "az scenario: $checks checks passed"
