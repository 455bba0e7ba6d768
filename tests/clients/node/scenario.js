// A Batch program written against the Node.js SDK (@azure/batch) as its
// README shows it, run unchanged against the Batch emulator (endpoint,
// account and key from the environment). It asserts what the service would
// answer and prints one line per step; any failure exits non-zero.
//
// Environment: BATCH_URL, BATCH_ACCOUNT, BATCH_KEY, OUTPUT_CONTAINER_URL
// (a container SAS URL with write permission), RESOURCE_URL (a blob SAS URL
// with read permission whose content is RESOURCE_TEXT), RUN_ID.
"use strict";
const assert = require("node:assert/strict");
const { BatchServiceClient, BatchSharedKeyCredentials } = require("@azure/batch");

const env = process.env;
const client = new BatchServiceClient(
  new BatchSharedKeyCredentials(env.BATCH_ACCOUNT, env.BATCH_KEY), env.BATCH_URL);
const run = env.RUN_ID;
const poolId = `node-pool-${run}`;
const jobId = `node-job-${run}`;
let checks = 0;

function step(name) {
  checks += 1;
  console.log(`ok ${checks} ${name}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen in ${seconds} s`);
    await sleep(100);
  }
}

async function listAll(first, next) {
  let page = await first();
  const items = [...page];
  while (page.odatanextLink) {
    page = await next(page.odatanextLink);
    items.push(...page);
  }
  return items;
}

async function text(response) {
  const chunks = [];
  for await (const chunk of response.readableStreamBody) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

async function refused(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("the call should have been refused");
}

async function main() {
  const images = await listAll(() => client.account.listSupportedImages(),
    (link) => client.account.listSupportedImagesNext(link));
  const image = images.find((i) => i.nodeAgentSKUId.startsWith("batch.node.ubuntu"));
  assert.ok(image, "an Ubuntu image is offered");
  step("supported images");

  await client.pool.add({
    id: poolId, vmSize: "standard_d2s_v3", targetDedicatedNodes: 1,
    virtualMachineConfiguration: {
      imageReference: image.imageReference, nodeAgentSKUId: image.nodeAgentSKUId },
    startTask: {
      commandLine: "/bin/bash -c 'cp input.txt $AZ_BATCH_NODE_SHARED_DIR/'",
      resourceFiles: [{ httpUrl: env.RESOURCE_URL, filePath: "input.txt" }],
      waitForSuccess: true },
    metadata: [{ name: "client", value: "node" }],
  });
  assert.equal((await client.pool.exists(poolId)).body, true);
  await until("an idle node", async () => {
    const nodes = await client.computeNode.list(poolId);
    return nodes.length === 1 && nodes[0].state === "idle";
  });
  const pool = await client.pool.get(poolId);
  assert.equal(pool.allocationState, "steady");
  assert.equal(pool.currentDedicatedNodes, 1);
  assert.deepEqual(pool.metadata, [{ name: "client", value: "node" }]);
  const pools = await client.pool.list();
  assert.ok(pools.some((p) => p.id === poolId));
  step("pool created, listed, its node idle after its StartTask");

  await client.job.add({ id: jobId, poolInfo: { poolId }, usesTaskDependencies: true });
  assert.ok((await client.job.list()).some((j) => j.id === jobId));
  const outputs = [
    { filePattern: "../std*.txt", uploadOptions: { uploadCondition: "taskfailure" },
      destination: { container: { containerUrl: env.OUTPUT_CONTAINER_URL, path: "failed" } } },
    { filePattern: "result.txt", uploadOptions: { uploadCondition: "tasksuccess" },
      destination: { container: { containerUrl: env.OUTPUT_CONTAINER_URL,
                                  path: "ok/result.txt" } } },
  ];
  await client.task.add(jobId, {
    id: "count", outputFiles: outputs,
    commandLine: "/bin/bash -c 'wc -w < $AZ_BATCH_NODE_SHARED_DIR/input.txt > result.txt'" });
  const added = await client.task.addCollection(jobId, [
    { id: "after", commandLine: "/bin/bash -c 'cat result.txt 2>/dev/null; echo after'",
      dependsOn: { taskIds: ["count"] } },
    { id: "fails", commandLine: "/bin/bash -c 'echo why >&2; exit 3'", outputFiles: outputs },
  ]);
  assert.deepEqual(added.value.map((r) => r.status), ["success", "success"]);
  step("job and tasks added (one task, a collection, a dependency)");

  await until("three completed tasks", async () => {
    const counts = await client.job.getTaskCounts(jobId);
    return counts.taskCounts.completed === 3;
  });
  const tasks = Object.fromEntries((await client.task.list(jobId)).map((t) => [t.id, t]));
  assert.equal(tasks.count.executionInfo.result, "success");
  assert.equal(tasks.after.executionInfo.exitCode, 0);
  assert.equal(tasks.fails.executionInfo.exitCode, 3);
  assert.equal(tasks.fails.executionInfo.result, "failure");
  assert.equal(tasks.fails.executionInfo.failureInfo.category, "usererror");
  const one = await client.task.get(jobId, "count");
  assert.equal(one.state, "completed");
  step("tasks completed with their exit codes");

  const files = await client.file.listFromTask(jobId, "fails");
  const names = files.map((f) => f.name);
  assert.ok(names.includes("stdout.txt") && names.includes("stderr.txt"), names.join(","));
  assert.equal(await text(await client.file.getFromTask(jobId, "fails", "stderr.txt")),
    "why\n");
  const props = await client.file.getPropertiesFromTask(jobId, "count", "wd/result.txt");
  assert.equal(Number(props.contentLength), `${env.RESOURCE_WORDS}\n`.length);
  step("task files listed, downloaded, their properties read");

  const missing = await refused(client.job.get(`node-nojob-${run}`));
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.body.code, "JobNotFound");
  const exists = await refused(client.pool.add({
    id: poolId, vmSize: "standard_d2s_v3", targetDedicatedNodes: 1,
    virtualMachineConfiguration: {
      imageReference: image.imageReference, nodeAgentSKUId: image.nodeAgentSKUId } }));
  assert.equal(exists.statusCode, 409);
  assert.equal(exists.body.code, "PoolExists");
  const retired = await refused(client.pool.add({
    id: `node-old-${run}`, vmSize: "standard_d2s_v3", targetDedicatedNodes: 1,
    virtualMachineConfiguration: {
      imageReference: { publisher: "canonical", offer: "0001-com-ubuntu-server-focal",
                        sku: "20_04-lts", version: "latest" },
      nodeAgentSKUId: "batch.node.ubuntu 20.04" } }));
  assert.equal(retired.statusCode, 400);
  assert.match(JSON.stringify(retired.body), /retired/);
  step("errors: 404 JobNotFound, 409 PoolExists, 400 for a retired image");

  await client.pool.resize(poolId, { targetDedicatedNodes: 2 });
  await until("two idle nodes", async () => {
    const p = await client.pool.get(poolId);
    const nodes = await client.computeNode.list(poolId);
    return p.allocationState === "steady" && nodes.length === 2
      && nodes.every((n) => n.state === "idle");
  });
  const [counts] = (await client.account.listPoolNodeCounts())
    .filter((c) => c.poolId === poolId);
  assert.equal(counts.dedicated.total, 2);
  step("pool resized to two nodes");

  // DELETE: this SDK sends no Content-Length and signs an empty one
  await client.job.deleteMethod(jobId);
  await until("the job gone", async () => {
    const err = await client.job.get(jobId).then(() => null, (e) => e);
    return err && err.statusCode === 404;
  });
  await client.pool.deleteMethod(poolId);
  await until("the pool gone", async () => (await client.pool.exists(poolId)).body === false);
  step("job and pool deleted");
  console.log(`node scenario: ${checks} checks passed`);
}

main().catch(async (err) => {
  console.error("node scenario failed:", err && (err.stack || err));
  if (err && err.body) console.error(JSON.stringify(err.body));
  for (const cleanup of [() => client.job.deleteMethod(jobId),
                         () => client.pool.deleteMethod(poolId)]) {
    await cleanup().catch(() => {});
  }
  process.exit(1);
});
