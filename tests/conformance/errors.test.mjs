// Error answers: the status codes the SDK turns into ApiError, and the error envelope itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiError,
  expectApiError,
  keyframeToClipInput,
  randomUUID,
  raw,
  restClient
} from './lib/harness.mjs';

const T = { timeout: 20_000 };
let sogni;
let anonymous;

before(async () => {
  sogni = await restClient();
  anonymous = await restClient({ apiKey: '' }); // no api-key header at all
});
after(() => {
  sogni?.dispose();
  anonymous?.dispose();
});

function assertErrorEnvelope(r, status, what) {
  assert.equal(r.status, status, `${what}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
  assert.ok(r.json && typeof r.json === 'object', `${what}: the error body is JSON, got ${JSON.stringify(r.text.slice(0, 200))}`);
  assert.equal(r.json.status, 'error', `${what}: envelope status`);
  assert.equal(typeof r.json.message, 'string', `${what}: envelope message`);
  assert.ok(r.json.message.length > 0, `${what}: a non-empty message`);
  assert.equal(typeof r.json.errorCode, 'number', `${what}: envelope errorCode`);
  assert.ok(/json/.test(r.headers.get('content-type') || ''), `${what}: content-type ${r.headers.get('content-type')}`);
}

function planWith(step) {
  return { title: 'Bad plan', steps: [step] };
}

describe('errors', () => {
  test('no API key: 401 ApiError', T, async () => {
    const e = await expectApiError(anonymous.workflows.list(), 401, 'workflows.list without a key');
    assert.ok(e.message.length > 0);
    await expectApiError(anonymous.workflows.start({ input: keyframeToClipInput() }), 401, 'workflows.start without a key');
    await expectApiError(anonymous.workflows.templates.list(), 401, 'templates.list without a key');
    assertErrorEnvelope(await raw('GET', '/v1/creative-agent/workflows', { apiKey: '' }), 401, 'no key (raw)');
    assertErrorEnvelope(
      await raw('GET', '/v1/creative-agent/workflows', { apiKey: `wrong-${randomUUID()}` }),
      401,
      'an unknown key'
    );
  });

  test('the Authorization: Bearer form is accepted too', T, async () => {
    const r = await raw('GET', '/v1/creative-agent/workflows', {
      apiKey: '',
      headers: { Authorization: `Bearer ${process.env.SANDBOX_API_KEY}` }
    });
    assert.equal(r.status, 200, `Bearer auth answered ${r.status}: ${r.text.slice(0, 200)}`);
    assert.equal(r.json?.status, 'success');
    assert.ok(Array.isArray(r.json?.data?.workflows));
  });

  test('unknown workflow: 404 on every route', T, async () => {
    const id = `wf_missing_${randomUUID()}`;
    await expectApiError(sogni.workflows.get(id), 404, 'get');
    await expectApiError(sogni.workflows.events(id), 404, 'events');
    await expectApiError(sogni.workflows.cancel(id), 404, 'cancel');
    await expectApiError(sogni.workflows.resume(id), 404, 'resume');
    await expectApiError(sogni.workflows.reseed(id, { seedOverrides: { keyframe: 1 } }), 404, 'reseed');
    await expectApiError(
      (async () => {
        for await (const frame of sogni.workflows.streamEvents(id, { signal: AbortSignal.timeout(5_000) })) void frame;
      })(),
      404,
      'events/stream'
    );
    assertErrorEnvelope(await raw('GET', `/v1/creative-agent/workflows/${encodeURIComponent(id)}`), 404, 'get (raw)');
    assertErrorEnvelope(
      await raw('POST', `/v1/creative-agent/workflows/${encodeURIComponent(id)}/confirm-cost`, {
        headers: { 'Idempotency-Key': randomUUID() },
        body: { decision: 'confirm' }
      }),
      404,
      'confirm-cost (raw)'
    );
    await expectApiError(sogni.workflows.templates.get(`tpl-missing-${randomUUID()}`), 404, 'unknown template');
  });

  test('a bad tool argument: 400 with a message naming it', T, async () => {
    const missing = await expectApiError(
      sogni.workflows.start({
        input: planWith({ id: 'img', toolName: 'generate_image', arguments: { model: 'z-turbo' } })
      }),
      400,
      'generate_image without its required prompt'
    );
    assert.match(missing.message, /prompt/, `the message names the argument: ${missing.message}`);

    const range = await expectApiError(
      sogni.workflows.start({
        input: planWith({ id: 'img', toolName: 'generate_image', arguments: { prompt: 'x', numberOfVariations: 99 } })
      }),
      400,
      'numberOfVariations above its maximum'
    );
    assert.match(range.message, /numberOfVariations/, `the message names the argument: ${range.message}`);

    const enumValue = await expectApiError(
      sogni.workflows.start({
        input: planWith({ id: 'clip', toolName: 'generate_video', arguments: { prompt: 'x', ratio: '7:5' } })
      }),
      400,
      'ratio outside its enum'
    );
    assert.match(enumValue.message, /ratio/, `the message names the argument: ${enumValue.message}`);
  });

  test('a bad plan: 400 with a message', T, async () => {
    const tool = await expectApiError(
      sogni.workflows.start({ input: planWith({ id: 'x', toolName: 'make_coffee', arguments: {} }) }),
      400,
      'an unknown tool'
    );
    assert.match(tool.message, /make_coffee/, `the message names the tool: ${tool.message}`);

    await expectApiError(sogni.workflows.start({ input: { title: 'Empty', steps: [] } }), 400, 'no steps');
    const many = Array.from({ length: 13 }, (_, i) => ({
      id: `s${i}`,
      toolName: 'generate_image',
      arguments: { prompt: `frame ${i}` }
    }));
    await expectApiError(sogni.workflows.start({ input: { title: 'Too many', steps: many } }), 400, '13 steps');
    await expectApiError(
      sogni.workflows.start({
        input: {
          title: 'Forward reference',
          steps: [
            {
              id: 'clip',
              toolName: 'generate_video',
              arguments: { prompt: 'x', videoModel: 'ltx23', duration: 5 },
              dependsOn: [
                {
                  sourceStepId: 'later',
                  sourceArtifactIndex: 0,
                  targetArgument: 'referenceImageIndices',
                  mediaType: 'image',
                  transform: 'image_index'
                }
              ]
            },
            { id: 'later', toolName: 'generate_image', arguments: { prompt: 'x' } }
          ]
        }
      }),
      400,
      'dependsOn naming a later step'
    );
    await expectApiError(
      sogni.workflows.start({
        input: planWith({ id: 'img', toolName: 'generate_image', arguments: 'prompt=x' })
      }),
      400,
      'arguments that are not an object'
    );

    // Shapes the SDK refuses client-side, sent raw.
    assertErrorEnvelope(
      await raw('POST', '/v1/creative-agent/workflows', {
        body: { input: keyframeToClipInput(), workflow_id: 'tpl-x' }
      }),
      400,
      'input and workflow_id together'
    );
    assertErrorEnvelope(await raw('POST', '/v1/creative-agent/workflows', { body: {} }), 400, 'neither input nor workflow_id');
    assertErrorEnvelope(
      await raw('POST', '/v1/creative-agent/workflows', {
        body: {
          input: keyframeToClipInput(),
          media_references: [{ id: 'ref1', kind: 'image', url: 'data:image/png;base64,iVBORw0KGgo=' }]
        }
      }),
      400,
      'a data: URI media reference'
    );
    assertErrorEnvelope(await raw('POST', '/v1/creative-agent/workflows', { body: '{"input": ' }), 400, 'malformed JSON');
  });

  test('ApiError carries the server message, not a generic one', T, async () => {
    const e = await expectApiError(
      sogni.workflows.start({ input: planWith({ id: 'x', toolName: 'make_coffee', arguments: {} }) }),
      400,
      'unknown tool'
    );
    assert.ok(e instanceof ApiError);
    assert.equal(e.payload.status, 'error');
    assert.notEqual(e.message, 'Bad Request', 'the message comes from the body, not the status text');
    assert.equal(typeof e.payload.errorCode, 'number');
  });
});
