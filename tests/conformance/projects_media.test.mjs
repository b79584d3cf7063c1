// Direct projects beyond the image case, driven only through the official SDK: a video and an
// audio project, the estimate calls (with a size preset) and the account balance, all against
// the suite's sandbox; then insufficient funds, seen by the SDK as a failed project.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  API_KEY_2,
  API_KEY,
  SANDBOX_URL,
  SogniClient,
  WS_URL,
  download,
  randomUUID,
  raw,
  recordingLogger,
  withTimeout
} from './lib/harness.mjs';

const T = { timeout: 30_000 };

async function connect(apiKey, logger = recordingLogger()) {
  const sogni = await SogniClient.createInstance({
    appId: `sogni-flow-conformance-${randomUUID()}`,
    apiKey,
    restEndpoint: SANDBOX_URL,
    socketEndpoint: WS_URL,
    network: 'fast',
    logger
  });
  await withTimeout(
    new Promise((resolve) => {
      const off = sogni.apiClient.socket.on('authenticated', () => {
        off();
        resolve();
      });
    }),
    5_000,
    'authenticated'
  );
  return sogni;
}

let sogni;
before(async () => {
  sogni = await connect(API_KEY);
});
after(() => sogni?.dispose());

describe('video, audio, estimates and balance through the SDK', () => {
  test('a video project completes with an MP4', T, async () => {
    const project = await sogni.projects.create({
      type: 'video',
      modelId: 'ltx23-22b-fp8_t2v_distilled',
      positivePrompt: 'slow dolly-in on a lighthouse, warm light',
      numberOfMedia: 1,
      duration: 1,
      fps: 24,
      width: 640,
      height: 480,
      steps: 4,
      tokenType: 'spark'
    });
    const urls = await withTimeout(project.waitForCompletion(), 20_000, 'video waitForCompletion');
    assert.equal(project.status, 'completed');
    assert.equal(urls.length, 1);
    assert.equal((await download(urls[0])).kind, 'mp4');
  });

  test('an audio project completes with an MP3 (the SDK\'s default outputFormat)', T, async () => {
    const project = await sogni.projects.create({
      type: 'audio',
      modelId: 'ace_step_1.5_turbo',
      positivePrompt: 'calm piano over rain',
      numberOfMedia: 1,
      duration: 10,
      steps: 4,
      tokenType: 'spark'
    });
    const urls = await withTimeout(project.waitForCompletion(), 20_000, 'audio waitForCompletion');
    assert.equal(project.status, 'completed');
    const media = await download(urls[0]);
    assert.equal(media.kind, 'mp3');
  });

  test('estimateCost with a size preset prices the preset\'s pixels', T, async () => {
    const base = { network: 'fast', tokenType: 'spark', model: 'flux1-schnell-fp8', imageCount: 2, stepCount: 4, previewCount: 0 };
    const preset = await sogni.projects.estimateCost({ ...base, sizePreset: 'square_hd' });
    const custom = await sogni.projects.estimateCost({ ...base, width: 1024, height: 1024 });
    const small = await sogni.projects.estimateCost({ ...base, sizePreset: 'square' });
    for (const e of [preset, custom, small]) {
      for (const f of ['token', 'usd', 'spark', 'sogni']) assert.match(String(e[f]), /^\d+\.\d+$/, `${f}: ${e[f]}`);
      assert.equal(typeof e.estimatedRenderSeconds, 'number');
    }
    assert.equal(preset.token, custom.token, 'square_hd is 1024x1024');
    assert.equal(Number(small.token) * 4, Number(preset.token), 'square (512x512) is a quarter of the pixels');
    const v3 = await sogni.projects.estimateCost({ ...base, width: 1024, height: 1024, sampler: 'euler', guidance: 1, contextImages: 1 });
    assert.ok(Number(v3.token) > Number(custom.token), 'a context image costs more (the v3 route)');
    await assert.rejects(sogni.projects.estimateCost({ ...base, sizePreset: 'no-such-preset' }), /Invalid size preset/);
  });

  test('estimateVideoCost and estimateAudioCost follow their inputs', T, async () => {
    const video = { tokenType: 'spark', model: 'ltx23-22b-fp8_t2v_distilled', width: 1280, height: 720, fps: 24, steps: 8 };
    const short = await sogni.projects.estimateVideoCost({ ...video, duration: 2 });
    const long = await sogni.projects.estimateVideoCost({ ...video, duration: 4 });
    assert.ok(Number(long.usd) > Number(short.usd), `${long.usd} > ${short.usd}`);
    const audio = { tokenType: 'sogni', model: 'ace_step_1.5_turbo', steps: 8, numberOfMedia: 1 };
    const a30 = await sogni.projects.estimateAudioCost({ ...audio, duration: 30 });
    const a60 = await sogni.projects.estimateAudioCost({ ...audio, duration: 60 });
    assert.equal(Number(a60.token), 2 * Number(a30.token));
    assert.equal(a30.token, a30.sogni, 'tokenType sogni prices in sogni');
  });

  test('the account balance is readable and the projects above were paid for', T, async () => {
    const balance = await sogni.account.accountBalance();
    for (const token of ['sogni', 'spark'])
      for (const f of ['settled', 'credit', 'debit', 'net']) assert.match(balance[token][f], /^-?\d+\.\d+$/, `${token}.${f}`);
    assert.ok(Number(balance.spark.settled) < 1000, `spark was debited: ${balance.spark.settled}`);
    const refreshed = await sogni.account.refreshBalance();
    assert.equal(sogni.currentAccount.balance.spark.net, refreshed.spark.net);
  });
});

describe('insufficient funds', () => {
  test('the SDK sees a project the account cannot pay for as failed', T, async () => {
    assert.ok(API_KEY_2, 'needs the second key');
    const set = await raw('POST', '/_sandbox/balance', { apiKey: API_KEY_2, body: { spark: 0 } });
    assert.equal(set.status, 200, set.text);
    const poor = await connect(API_KEY_2);
    try {
      const project = await poor.projects.create({
        type: 'image',
        modelId: 'flux1-schnell-fp8',
        positivePrompt: 'a lighthouse',
        numberOfMedia: 1,
        steps: 4,
        tokenType: 'spark'
      });
      await assert.rejects(withTimeout(project.waitForCompletion(), 10_000, 'the refusal'), (error) => {
        assert.match(String(error?.message ?? error), /Insufficient funds/);
        return true;
      });
      assert.equal(project.status, 'failed');
    } finally {
      poor.dispose();
    }
  });
});
