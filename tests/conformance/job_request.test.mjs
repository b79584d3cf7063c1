// The jobRequest sogni-flow sends for a project step equals, as JSON, the one the official SDK
// sends for the same ProjectParams: `sogni-flow run LOCAL_PLAN --dry-run` prints each step's
// jobRequest (jobID 00000000-0000-4000-8000-000000000000), the same params go through
// sogni.projects.create() against the sandbox with the media as typed Blobs, the frame the SDK
// writes on the socket is captured, and the two are compared with deepStrictEqual (the jobID
// set to the dry run's). The uploads each side makes (route, type, id) are compared too.
//
// The plan is written as JSON (YAML's flow style) from CASES below; a media param written
// {media: NAME} is the media entry NAME in the plan and a Blob of its bytes for the SDK, and
// {step: ID} is a dependsOn on step ID (an image/png Blob for the SDK: the upstream's outputFormat).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { API_KEY, SANDBOX_URL, SogniClient, WS_URL, randomUUID } from './lib/harness.mjs';

const BIN = process.env.SOGNI_FLOW_BIN;
const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const DRY_RUN_JOB_ID = '00000000-0000-4000-8000-000000000000';

const MEDIA = {
  logo: { file: 'samples/media/logo.png', type: 'image/png' },
  tone: { file: 'samples/media/tone.wav', type: 'audio/wav' },
  clip: { file: 'samples/media/clip.mp4', type: 'video/mp4' },
};
const media = (name) => ({ media: name });
const fromStep = (id) => ({ step: id });

// Models the sandbox does not list yet: the SDK's getModelOptions() would refuse them before
// building anything, so for these ids only it is given the options of a tier with no sampler
// choice (ModelOptions.js mapVideoTier of a tier without comfySampler/comfyScheduler).
const NOT_IN_SANDBOX = new Set([
  'wan_v2.2-14b-fp8_s2v_lightx2v',
  'ltx23-22b-fp8_ia2v_distilled',
  'minimax-h3-ref2va-fp8_r2v',
  'seedance-2-0',
]);

const CASES = [
  { id: 't2i', project: { type: 'image', modelId: 'flux1-schnell-fp8', positivePrompt: 'a lighthouse at dawn',
      negativePrompt: 'blurry', numberOfMedia: 2, steps: 4, guidance: 1, seed: 42, width: 1024, height: 768,
      tokenType: 'spark', outputFormat: 'png' } },
  { id: 't2i-sampler', project: { type: 'image', modelId: 'flux1-schnell-fp8', positivePrompt: 'a red kite',
      steps: 4, sampler: 'euler', scheduler: 'simple', numberOfPreviews: 2, disableNSFWFilter: true,
      stylePrompt: 'watercolour', network: 'relaxed', billingMode: 'tokens' } },
  { id: 'size-preset', project: { type: 'image', modelId: 'flux1-schnell-fp8', positivePrompt: 'a teapot',
      steps: 4, sizePreset: 'square_hd', outputFormat: 'jpg', tokenType: 'sogni' } },
  { id: 'i2i', project: { type: 'image', modelId: 'z_image_turbo_bf16', positivePrompt: 'embossed steel badge',
      startingImage: media('logo'), startingImageStrength: 0.65, steps: 8, sampler: 'euler', width: 768, height: 768,
      seed: 7 } },
  { id: 'context-images', project: { type: 'image', modelId: 'z_image_turbo_bf16', positivePrompt: 'both emblems side by side',
      contextImages: [media('logo'), media('logo')], steps: 8, loras: ['detail'], loraStrengths: [0.5] } },
  { id: 't2v-wan', project: { type: 'video', modelId: 'wan_v2.2-14b-fp8_t2v_lightx2v', positivePrompt: 'waves at night',
      negativePrompt: 'text', duration: 5, fps: 16, width: 832, height: 480, steps: 4, shift: 5, seed: 11 } },
  { id: 't2v-ltx', project: { type: 'video', modelId: 'ltx23-22b-fp8_t2v_distilled', positivePrompt: 'a paper boat',
      duration: 4, fps: 24, width: 1280, height: 720, generateAudio: true, sampler: 'euler' } },
  { id: 'i2v-media', project: { type: 'video', modelId: 'wan_v2.2-14b-fp8_i2v_lightx2v', positivePrompt: 'the badge turns',
      referenceImage: media('logo'), duration: 3, width: 480, height: 832 } },
  { id: 'i2v-step', project: { type: 'video', modelId: 'wan_v2.2-14b-fp8_i2v_lightx2v', positivePrompt: 'the lighthouse glows',
      referenceImage: fromStep('t2i'), frames: 49, fps: 32, trimEndFrame: true } },
  { id: 's2v-audio', project: { type: 'video', modelId: 'wan_v2.2-14b-fp8_s2v_lightx2v', positivePrompt: 'a singer',
      referenceImage: media('logo'), referenceAudio: media('tone'), duration: 4, audioDuration: 4, width: 832,
      height: 480 } },
  { id: 'ia2v-audio', project: { type: 'video', modelId: 'ltx23-22b-fp8_ia2v_distilled', positivePrompt: 'a drummer',
      referenceImage: media('logo'), referenceAudio: media('tone'), duration: 5, fps: 25 } },
  { id: 'r2v-h3', project: { type: 'video', modelId: 'minimax-h3-ref2va-fp8_r2v', positivePrompt: '<Picture 1> dances',
      referenceImage: media('logo'), contextImages: [media('logo')], referenceVideo: media('clip'),
      referenceAudios: [media('tone')], duration: 6, width: 672, height: 384 } },
  { id: 'seedance', project: { type: 'video', modelId: 'seedance-2-0', positivePrompt: 'a city at dusk',
      negativePrompt: 'dropped for external models', referenceImage: media('logo'), duration: 5, ratio: '16:9' } },
  { id: 'audio', project: { type: 'audio', modelId: 'ace_step_1.5_turbo', positivePrompt: 'a bright jingle',
      duration: 30, bpm: 120, keyscale: 'C major', timesignature: '4', language: 'en', lyrics: '[verse] la la',
      steps: 8, sampler: 'euler', scheduler: 'simple', outputFormat: 'mp3', negativePrompt: 'dropped for audio' } },
];

function planFor(dir) {
  const steps = CASES.map(({ id, project }) => {
    const out = {};
    const dependsOn = [];
    for (const [key, value] of Object.entries(project)) {
      if (value && value.step) {
        dependsOn.push({ sourceStepId: value.step, targetArgument: key, transform: 'image_url', mediaType: 'image' });
      } else if (value && value.media) {
        out[key] = value.media;
      } else if (Array.isArray(value)) {
        out[key] = value.map((v) => (v && v.media ? v.media : v));
      } else {
        out[key] = value;
      }
    }
    return { id, project: out, ...(dependsOn.length ? { dependsOn } : {}) };
  });
  const mediaEntries = {};
  for (const [name, m] of Object.entries(MEDIA)) {
    const file = `${name}${m.file.slice(m.file.lastIndexOf('.'))}`;
    copyFileSync(join(ROOT, m.file), join(dir, file));
    mediaEntries[name] = { path: file };
  }
  return { version: 1, name: 'job-request-conformance', execution: 'local', media: mediaEntries, steps };
}

function sdkParams(project) {
  const blob = (name) => new Blob([readFileSync(join(ROOT, MEDIA[name].file))], { type: MEDIA[name].type });
  const convert = (v) => (v && v.media ? blob(v.media) : v && v.step ? new Blob([readFileSync(join(ROOT, MEDIA.logo.file))], { type: 'image/png' }) : v);
  const out = {};
  for (const [key, value] of Object.entries(project)) out[key] = Array.isArray(value) ? value.map(convert) : convert(value);
  return out;
}

let sogni;
let dryRun;
const frames = [];
let uploads = [];

before(async () => {
  assert.ok(BIN, 'SOGNI_FLOW_BIN is not set (run through tests/conformance/run.sh)');
  const dir = mkdtempSync(join(tmpdir(), 'sogni-job-request-'));
  const plan = join(dir, 'plan.yaml');
  writeFileSync(plan, JSON.stringify(planFor(dir), null, 1));
  const out = execFileSync(BIN, ['run', plan, '--dry-run'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
  dryRun = new Map(out.trim().split('\n').map((line) => JSON.parse(line)).map((l) => [l.step, l]));

  sogni = await SogniClient.createInstance({
    appId: `sogni-flow-job-request-${randomUUID()}`,
    apiKey: API_KEY,
    restEndpoint: SANDBOX_URL,
    socketEndpoint: WS_URL,
    network: 'fast',
  });
  const socket = sogni.apiClient.socket;
  const send = socket.send.bind(socket);
  socket.send = async (type, data, ...rest) => {
    // What goes on the wire is JSON: capture it as the server would decode it.
    if (type === 'jobRequest') frames.push(JSON.parse(JSON.stringify(data)));
    return send(type, data, ...rest);
  };
  const getModelOptions = sogni.projects.getModelOptions.bind(sogni.projects);
  sogni.projects.getModelOptions = async (modelId) => {
    if (!NOT_IN_SANDBOX.has(modelId)) return getModelOptions(modelId);
    return { type: 'video', sampler: { allowed: [], default: null }, scheduler: { allowed: [], default: null } };
  };
  const fetchBefore = globalThis.fetch;
  globalThis.fetch = async (input, init = {}) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? String(input) : input.url);
    if (/^\/v1\/(image|media)\/uploadUrl$/.test(url.pathname)) {
      uploads.push({ route: url.pathname, type: url.searchParams.get('type'), id: url.searchParams.get('id') ?? undefined });
    }
    return fetchBefore(input, init);
  };
});

after(() => sogni?.dispose());

describe('jobRequest frames: sogni-flow and the official SDK agree', () => {
  for (const { id, project } of CASES) {
    test(id, { timeout: 20_000 }, async () => {
      const line = dryRun.get(id);
      assert.ok(line, `the dry run printed no line for step ${id}`);
      assert.equal(line.error, undefined, `the dry run could not build step ${id}: ${line.error}`);
      frames.length = 0;
      uploads = [];
      try {
        await sogni.projects.create(sdkParams(project));
      } catch (error) {
        // The frame is sent before the server answers; a refusal afterwards does not matter here.
        if (frames.length === 0) throw error;
      }
      assert.equal(frames.length, 1, 'the SDK sent one jobRequest');
      const sdk = frames[0];
      assert.match(sdk.jobID, /^[0-9A-F-]{36}$/);
      sdk.jobID = DRY_RUN_JOB_ID;
      assert.deepStrictEqual(line.jobRequest, sdk);
      const ours = line.uploads.map((u) => ({ route: u.route, type: u.type, id: u.id }));
      const key = (u) => `${u.route} ${u.type} ${u.id ?? ''}`;
      assert.deepStrictEqual(ours.map(key).sort(), uploads.map(key).sort(), 'the same uploads');
    });
  }
});
