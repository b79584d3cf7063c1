// The official SDK's side of bench/sdk_compare.sh: what a user would write instead of
// `sogni-flow run PLANS -j N`. Starts every workflow of INPUTS (one start body per line, as
// `sogni-flow run --dry-run` prints it) with `sogni.workflows.start`, follows each with
// `streamEvents` until the stream ends, fetches the finished workflow and (unless MODE is
// `follow`) writes every artifact to OUT/<workflow>/<n>. All workflows run at once, as the runner's -j does.
// Prints one JSON line: {workflows, completed, events, artifacts, bytes, failures}.
//
//   node bench/sdk_compare.mjs SDK_DIR INPUTS OUT MODE(downloads|follow)
// Environment: SANDBOX_URL (http on loopback only), SANDBOX_API_KEY.
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const [sdkDir, inputsPath, outDir, mode] = process.argv.slice(2);
if (!sdkDir || !inputsPath || !outDir || !['downloads', 'follow'].includes(mode)) {
  console.error('usage: node sdk_compare.mjs SDK_DIR INPUTS OUT downloads|follow');
  process.exit(2);
}
const url = new URL(process.env.SANDBOX_URL || '');
if (url.protocol !== 'http:' || url.hostname !== '127.0.0.1') {
  console.error(`SANDBOX_URL must be http://127.0.0.1:PORT, not ${process.env.SANDBOX_URL}`);
  process.exit(2);
}
const base = url.origin;
// The SDK as the conformance tests install it (package.json beside node_modules).
const { SogniClient } = createRequire(join(sdkDir, 'package.json'))('@sogni-ai/sogni-client');

const silent = { error() {}, warn() {}, info() {}, debug() {} };
const sogni = await SogniClient.createInstance({
  disableSocket: true,
  restEndpoint: base,
  socketEndpoint: base.replace(/^http/, 'ws'),
  apiKey: process.env.SANDBOX_API_KEY,
  logger: silent
});

const bodies = readFileSync(inputsPath, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
const totals = { workflows: bodies.length, completed: 0, events: 0, artifacts: 0, bytes: 0, failures: [] };

function artifactsOf(workflow) {
  const out = [];
  if (Array.isArray(workflow?.artifacts)) out.push(...workflow.artifacts);
  for (const step of workflow?.steps || []) if (Array.isArray(step?.artifacts)) out.push(...step.artifacts);
  // A step's artifacts are also listed at the top: each URL once.
  return [...new Map(out.filter((a) => a && typeof a.url === 'string').map((a) => [a.url, a])).values()];
}

async function one(body, index) {
  const started = await sogni.workflows.start({
    input: body.input,
    tokenType: 'spark',
    idempotencyKey: `sdk-compare-${process.pid}-${index}`
  });
  // The sandbox ends the stream after the workflow's last event, as the service does.
  for await (const _frame of sogni.workflows.streamEvents(started.workflowId)) totals.events += 1;
  const workflow = await sogni.workflows.get(started.workflowId);
  if (workflow.status === 'completed') totals.completed += 1;
  if (mode === 'follow') return;
  const dir = join(outDir, started.workflowId);
  mkdirSync(dir, { recursive: true });
  let n = 0;
  for (const artifact of artifactsOf(workflow)) {
    const response = await fetch(artifact.url);
    if (!response.ok) throw new Error(`GET artifact answered ${response.status}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    await writeFile(join(dir, String(n++)), bytes);
    totals.artifacts += 1;
    totals.bytes += bytes.length;
  }
}

const results = await Promise.allSettled(bodies.map((body, i) => one(body, i)));
for (const r of results) if (r.status === 'rejected') totals.failures.push(String(r.reason?.message || r.reason));
sogni.dispose?.();
console.log(JSON.stringify(totals));
process.exit(totals.failures.length ? 1 : 0);
