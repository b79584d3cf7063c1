// Durable creative workflows through the official SDK (REST-only client): start with idempotency,
// get, list, events, SSE, cancel, reseed, and the cost-approval pause.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  API_KEY,
  TERMINAL,
  download,
  keyframeToClipInput,
  pollWorkflow,
  randomUUID,
  raw,
  restClient,
  runToEnd,
  sandboxStats,
  statusOfFrame,
  streamAll,
  workflowArtifacts
} from './lib/harness.mjs';

const T = { timeout: 20_000 };
let sogni;

before(async () => {
  sogni = await restClient();
});
after(() => sogni?.dispose());

function startRouteCount(stats, status) {
  const entries = Object.entries(stats.requests || {});
  const hit = entries.find(([route]) => /^POST\s+\/v1\/creative-agent\/workflows\/?$/.test(route));
  return hit ? Number(hit[1]?.[String(status)] || 0) : 0;
}

describe('workflows', () => {
  test('start twice with one Idempotency-Key gives one workflow, billed once', T, async () => {
    const key = `conf-${randomUUID()}`;
    const input = keyframeToClipInput('Idempotent keyframe to clip');
    const before = await sandboxStats();

    const first = await sogni.workflows.start({ input, tokenType: 'spark', idempotencyKey: key });
    assert.equal(typeof first.workflowId, 'string');
    assert.ok(first.workflowId.length > 0);
    assert.ok(['queued', 'running'].includes(first.status), `a new workflow is queued or running, got ${first.status}`);
    const second = await sogni.workflows.start({ input, tokenType: 'spark', idempotencyKey: key });
    assert.equal(second.workflowId, first.workflowId, 'the same Idempotency-Key must return the same workflow');

    const stream = await streamAll(sogni, first.workflowId);
    assert.equal(stream.lastStatus, 'completed', `stream ended (${stream.endedBy}) at ${stream.lastStatus}`);

    // A retry after completion still returns the original run, not a new one.
    const third = await sogni.workflows.start({ input, tokenType: 'spark', idempotencyKey: key });
    assert.equal(third.workflowId, first.workflowId);
    assert.equal(third.status, 'completed');

    // The same plan under another key is another run, and costs what the first cost: the first was not billed twice.
    const { final: other } = await runToEnd(sogni, { input, tokenType: 'spark', idempotencyKey: `conf-${randomUUID()}` });
    assert.notEqual(other.workflowId, first.workflowId);
    assert.equal(other.status, 'completed');

    const stats = await sandboxStats();
    assert.equal(
      stats.workflowsByIdempotencyKey?.[key],
      1,
      `workflowsByIdempotencyKey[${key}] should be 1: ${JSON.stringify(stats.workflowsByIdempotencyKey)}`
    );
    const units = stats.unitsBilled?.[first.workflowId];
    assert.equal(typeof units, 'number', `unitsBilled has no entry for ${first.workflowId}`);
    assert.ok(units > 0, `a completed image+video run bills something, got ${units}`);
    assert.equal(units, stats.unitsBilled?.[other.workflowId], 'the replayed starts added to the bill');
    assert.ok(startRouteCount(stats, 201) - startRouteCount(before, 201) >= 2, 'start answers 201 (stats.requests)');

    const listed = await sogni.workflows.list({ limit: 200 });
    assert.equal(listed.filter((w) => w.workflowId === first.workflowId).length, 1);
  });

  test('get, list, events and artifacts of a completed run', T, async () => {
    const { started, final } = await runToEnd(sogni, {
      input: keyframeToClipInput('Inspect a completed run'),
      tokenType: 'spark'
    });
    const id = started.workflowId;

    // get
    assert.equal(final.workflowId, id);
    assert.equal(final.status, 'completed');
    assert.ok(Array.isArray(final.steps), 'workflow.steps is an array');
    assert.deepEqual(
      final.steps.map((s) => s.id),
      ['keyframe', 'clip'],
      'steps keep their ids and order'
    );
    assert.ok(final.steps.every((s) => s.status === 'completed'), 'every step of a completed run is completed');
    assert.equal(final.waitingReason ?? undefined, undefined);

    // artifacts: at least the keyframe image and the clip, with fetchable URLs
    const artifacts = workflowArtifacts(final);
    assert.ok(artifacts.length >= 2, `expected artifacts for both steps, got ${artifacts.length}`);
    const image = artifacts.find((a) => (a.kind ?? a.type ?? a.mediaType) === 'image' || /^image\//.test(a.mimeType || ''));
    const video = artifacts.find((a) => (a.kind ?? a.type ?? a.mediaType) === 'video' || /^video\//.test(a.mimeType || ''));
    assert.ok(image?.url, 'an image artifact with a url');
    assert.ok(video?.url, 'a video artifact with a url');
    const img = await download(image.url);
    assert.ok(['png', 'jpeg', 'webp'].includes(img.kind), `image artifact bytes are ${img.kind}`);
    const vid = await download(video.url);
    assert.equal(vid.kind, 'mp4', `video artifact bytes are ${vid.kind}`);
    const stats = await sandboxStats();
    if (image.id) assert.ok((stats.downloads?.[image.id] || 0) >= 1, 'stats.downloads counts the image fetch');

    // list
    const all = await sogni.workflows.list({ limit: 200 });
    assert.ok(Array.isArray(all));
    assert.ok(all.some((w) => w.workflowId === id), 'list includes the run');
    const one = await sogni.workflows.list({ limit: 1, offset: 0 });
    assert.ok(one.length <= 1, `limit=1 returned ${one.length}`);

    // events
    const events = await sogni.workflows.events(id);
    assert.ok(Array.isArray(events) && events.length >= 2, 'a completed run has an event history');
    const sequences = events.map((e) => e.sequence);
    assert.ok(sequences.every(Number.isInteger), `every event has an integer sequence: ${sequences}`);
    for (let i = 1; i < sequences.length; i += 1) {
      assert.ok(sequences[i] > sequences[i - 1], `sequences increase: ${sequences}`);
    }
    assert.ok(events.every((e) => typeof e.type === 'string' && e.type.length > 0), 'every event has a type');
    assert.ok(
      events.some((e) => e.status === 'completed' || e.type === 'workflow_completed'),
      'the history records the completion'
    );
  });

  test('streamEvents follows a run to completed, and resumes after a cursor', T, async () => {
    const started = await sogni.workflows.start({ input: keyframeToClipInput('Stream a run'), tokenType: 'spark' });
    const live = await streamAll(sogni, started.workflowId);
    assert.notEqual(live.endedBy, 'timeout', 'the stream ends by itself');
    assert.equal(live.lastStatus, 'completed');
    assert.equal(statusOfFrame(live.frames.at(-1)), 'completed', 'the last frame reports the terminal status');
    const ids = live.frames.map((f) => Number(f.id)).filter(Number.isFinite);
    assert.ok(ids.length > 0, 'frames carry SSE ids');
    for (let i = 1; i < ids.length; i += 1) assert.ok(ids[i] > ids[i - 1], `SSE ids increase: ${ids}`);

    // Replay of a finished run from a cursor: nothing at or before the cursor comes back.
    const cursor = ids[0];
    for (const option of [{ after: cursor }, { lastEventId: cursor }]) {
      const replay = await streamAll(sogni, started.workflowId, { ...option, timeoutMs: 5_000 });
      assert.notEqual(replay.endedBy, 'timeout', `replay with ${JSON.stringify(option)} ends by itself`);
      const replayIds = replay.frames.map((f) => Number(f.id)).filter(Number.isFinite);
      assert.ok(replayIds.every((n) => n > cursor), `replay ${JSON.stringify(option)} ids ${replayIds} > ${cursor}`);
      assert.equal(replay.lastStatus, 'completed');
    }
  });

  test('cancel a running workflow', T, async () => {
    const started = await sogni.workflows.start({
      input: keyframeToClipInput('Cancel me while running', { duration: 20 }),
      tokenType: 'spark'
    });
    const running = await pollWorkflow(sogni, started.workflowId, (w) => w.status === 'running' || TERMINAL.has(w.status), {
      intervalMs: 2,
      what: 'status running'
    });
    assert.equal(running.status, 'running', `the run finished (${running.status}) before it could be cancelled`);

    const cancelled = await sogni.workflows.cancel(started.workflowId);
    assert.equal(cancelled.workflowId, started.workflowId);
    assert.equal(cancelled.status, 'cancelled');

    const after = await sogni.workflows.get(started.workflowId);
    assert.equal(after.status, 'cancelled');
    const stream = await streamAll(sogni, started.workflowId, { timeoutMs: 5_000 });
    assert.notEqual(stream.endedBy, 'timeout', 'the stream of a cancelled run ends');
    assert.equal(stream.lastStatus, 'cancelled');

    // Cancelling a terminal run is not an error and changes nothing.
    const again = await sogni.workflows.cancel(started.workflowId);
    assert.equal(again.status, 'cancelled');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await sogni.workflows.get(started.workflowId)).status, 'cancelled', 'a cancelled run stays cancelled');
  });

  test('reseed a completed workflow with seedOverrides', T, async () => {
    const { final: source } = await runToEnd(sogni, {
      input: keyframeToClipInput('Reseed source'),
      tokenType: 'spark'
    });
    assert.equal(source.status, 'completed');

    const key = `conf-reseed-${randomUUID()}`;
    const result = await sogni.workflows.reseed(source.workflowId, {
      seedOverrides: { keyframe: 424242 },
      idempotencyKey: key
    });
    assert.equal(result.reseed.clonedFromRunId, source.workflowId, 'reseed.cloned_from_run_id names the source run');
    assert.notEqual(result.workflow.workflowId, source.workflowId, 'reseed starts a new run');
    assert.ok(Array.isArray(result.reseed.steps));
    const keyframe = result.reseed.steps.find((s) => (s?.stepId ?? s?.id) === 'keyframe');
    assert.ok(keyframe, `reseed.steps lists the keyframe step: ${JSON.stringify(result.reseed.steps)}`);
    assert.equal(keyframe.newSeed ?? keyframe.seed, 424242, 'the override is applied to the keyframe');
    assert.equal(result.idempotent, undefined, 'a first reseed is not flagged idempotent');

    const replay = await sogni.workflows.reseed(source.workflowId, {
      seedOverrides: { keyframe: 424242 },
      idempotencyKey: key
    });
    assert.equal(replay.workflow.workflowId, result.workflow.workflowId, 'a replayed reseed returns the same take');
    assert.equal(replay.idempotent, true);

    const stream = await streamAll(sogni, result.workflow.workflowId);
    assert.equal(stream.lastStatus, 'completed', 'the reseeded run completes');
    assert.equal((await sogni.workflows.get(source.workflowId)).status, 'completed', 'the source run is untouched');
  });

  test('cost approval: pause, confirm-cost, resume, complete', T, async () => {
    const started = await sogni.workflows.start({
      input: keyframeToClipInput('Needs cost approval'),
      tokenType: 'spark',
      maxEstimatedCapacityUnits: 1 // the video step alone is several units
    });
    const id = started.workflowId;

    // The stream closes by itself at waiting_for_user (DOCS: streams close on ... waiting_for_user).
    const stream = await streamAll(sogni, id, { timeoutMs: 5_000 });
    assert.notEqual(stream.endedBy, 'timeout', 'the SSE stream closes when the run waits for the user');
    assert.equal(stream.lastStatus, 'waiting_for_user');

    const waiting = await sogni.workflows.get(id);
    assert.equal(waiting.status, 'waiting_for_user');
    assert.equal(waiting.waitingReason, 'cost_approval_required');
    assert.equal(waiting.awaitingCostApproval, true);
    const unpaid = await sandboxStats();
    assert.ok(!(unpaid.unitsBilled?.[id] > 0), `nothing is billed before approval, got ${unpaid.unitsBilled?.[id]}`);

    // The SDK has no confirm-cost method: raw POST with the SDK's auth header.
    const confirmKey = `conf-confirm-${randomUUID()}`;
    const confirmed = await raw('POST', `/v1/creative-agent/workflows/${encodeURIComponent(id)}/confirm-cost`, {
      apiKey: API_KEY,
      headers: { 'Idempotency-Key': confirmKey },
      body: { decision: 'confirm' }
    });
    assert.equal(confirmed.status, 200, `confirm-cost answered ${confirmed.status}: ${confirmed.text.slice(0, 300)}`);
    assert.equal(confirmed.json?.status, 'success');
    assert.equal(confirmed.json?.data?.workflow?.workflowId, id);
    assert.notEqual(confirmed.json?.data?.workflow?.awaitingCostApproval, true, 'approval is recorded');

    // Re-submitting the same key is a no-op.
    const replay = await raw('POST', `/v1/creative-agent/workflows/${encodeURIComponent(id)}/confirm-cost`, {
      apiKey: API_KEY,
      headers: { 'Idempotency-Key': confirmKey },
      body: { decision: 'confirm' }
    });
    assert.equal(replay.status, 200, `replayed confirm-cost answered ${replay.status}: ${replay.text.slice(0, 300)}`);

    const resumed = await sogni.workflows.resume(id);
    assert.equal(resumed.workflow.workflowId, id);
    assert.equal(typeof resumed.resumed, 'boolean');

    // Follow on from the last event seen, as a reconnecting client does.
    const seenIds = stream.frames.map((f) => Number(f.id)).filter(Number.isFinite);
    const done = await streamAll(sogni, id, seenIds.length ? { lastEventId: Math.max(...seenIds) } : {});
    assert.equal(done.lastStatus, 'completed', `after approval the run completes (ended by ${done.endedBy})`);
    const final = await sogni.workflows.get(id);
    assert.equal(final.status, 'completed');
    assert.notEqual(final.awaitingCostApproval, true);
    const paid = await sandboxStats();
    assert.ok(paid.unitsBilled?.[id] > 0, 'the approved run is billed');
  });
});
