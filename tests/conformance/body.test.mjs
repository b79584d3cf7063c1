// The start body sogni-flow sends equals, as JSON, the body the official SDK sends for the same
// input: `sogni-flow run PLAN --dry-run` prints the exact body, the same fields go through
// sogni.workflows.start() against the sandbox, and the SDK's request body is captured and
// compared. Local media show as "upload://<path>" in a dry run (their URL exists only after the
// upload); both sides then use the same https stand-in, since the SDK takes references as given.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';

import { restClient } from './lib/harness.mjs';

const BIN = process.env.SOGNI_FLOW_BIN;
const ROOT = resolve(new URL('../..', import.meta.url).pathname);

// A plan with `budget.approval: required` runs (and dry-runs) only with its approval file, which
// also puts the ceiling in the body: such a plan is approved in a copy of samples/, at the
// plan's own budget.max_units, as a reviewer would.
function approvedCopyRoot(plan, args) {
  const env = { PATH: process.env.PATH };
  const estimate = JSON.parse(execFileSync(BIN, ['estimate', plan, '--json', ...args], { cwd: ROOT, encoding: 'utf8', env })
    .split('\n')[0]);
  if (!estimate.approvalRequired) return ROOT;
  const root = mkdtempSync(join(tmpdir(), 'sogni-approved-'));
  cpSync(join(ROOT, 'samples'), join(root, 'samples'), { recursive: true });
  execFileSync(BIN, ['approve', plan, '--max-units', String(estimate.maxUnits ?? estimate.totalUnits), '--by', 'conformance', ...args],
    { cwd: root, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  return root;
}

function dryRunBody(plan, args = []) {
  const cwd = plan.startsWith('samples/') ? approvedCopyRoot(plan, args) : ROOT;
  const out = execFileSync(BIN, ['run', plan, '--dry-run', ...args], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH } });
  const body = JSON.parse(out);
  for (const ref of body.media_references ?? []) {
    if (ref.url.startsWith('upload://')) ref.url = `https://uploads.invalid/${encodeURIComponent(ref.url.slice(9))}`;
  }
  return body;
}

// Runs start() through the SDK with the body's fields and returns the body the SDK sent.
async function sdkBody(sogni, body) {
  let sent;
  const before = globalThis.fetch;
  globalThis.fetch = async (input, init = {}) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? String(input) : input.url);
    if (url.pathname === '/v1/creative-agent/workflows' && (init.method || 'GET').toUpperCase() === 'POST') sent = init.body;
    return before(input, init);
  };
  try {
    await sogni.workflows.start({
      input: body.input,
      tokenType: body.token_type,
      billingMode: body.billing_mode,
      appSource: body.app_source,
      maxEstimatedCapacityUnits: body.max_estimated_capacity_units,
      confirmCost: body.confirm_cost,
      safeContentFilter: body.safe_content_filter,
      mediaReferences: body.media_references,
    });
  } finally {
    globalThis.fetch = before;
  }
  assert.ok(sent, 'the SDK sent no start request');
  return JSON.parse(sent);
}

describe('start bodies: sogni-flow and the official SDK agree', () => {
  assert.ok(BIN, 'SOGNI_FLOW_BIN is not set (run through tests/conformance/run.sh)');

  // Every server sample that can start without an approval file, plus an inline plan that sets
  // every optional top-level field.
  const dir = mkdtempSync(join(tmpdir(), 'sogni-body-'));
  const inline = join(dir, 'all-fields.yaml');
  writeFileSync(inline, `version: 1
name: all-fields
title: Every field
safe_content_filter: false
params:
  seconds: {type: integer, default: 4}
media:
  backdrop: {url: "https://cdn.example.com/backdrop.png"}
budget: {max_units: 60, token_type: sogni, billing_mode: tokens}
steps:
  - id: still
    toolName: edit_image
    arguments: {prompt: "a lamp on the backdrop", sourceImageIndex: -1, numberOfVariations: 2}
  - id: clip
    toolName: generate_video
    arguments: {prompt: orbit, duration: "\${params.seconds}"}
    dependsOn:
      - {sourceStepId: still, sourceArtifactIndex: 1, targetArgument: referenceImageIndices, mediaType: image, transform: image_index, required: true}
`);
  const cases = [
    ['samples/hello-sandbox.yaml', []],
    ['samples/hello-sandbox.yaml', ['-p', 'seconds=4', '-p', 'subject=a chair']],  // 1 + 6 x 4 = 25 units: within the budget of 30
    ['samples/music-video.yaml', []],
    ['samples/fan-in.yaml', []],
    ['samples/launch-teaser.yaml', []],  // its logo shows as upload://media/logo.png: the body is otherwise final
    ['samples/batch-portraits.yaml', ['--param-file', 'samples/params/batch-portraits.params.yaml']],
    [inline, []],
  ];
  for (const [plan, args] of cases) {
    test(`${plan} ${args.join(' ')}`.trim(), { timeout: 20_000 }, async () => {
      const ours = dryRunBody(plan, args);
      const sogni = await restClient();
      const theirs = await sdkBody(sogni, ours);
      assert.deepStrictEqual(theirs, ours);
    });
  }
});
