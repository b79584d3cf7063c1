// Shared plumbing for the conformance tests: where the sandbox is, SDK clients pointed at it,
// a fetch wrapper that records every JSON body the sandbox sends into $CAPTURE_DIR, and helpers
// that wait with deadlines so nothing here can hang.
//
// Environment (run.sh sets all of it):
//   SANDBOX_URL        http://127.0.0.1:PORT  (REST, the socket host's /api routes and the WebSocket)
//   SANDBOX_API_KEY    a key the sandbox accepts
//   SANDBOX_API_KEY_2  a second key, another wallet (templates ownership tests)
//   CAPTURE_DIR        where <kind>-<n>.json files go (kind: workflow|event|artifact|error|template|sse)
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SogniClient, ApiError } from '@sogni-ai/sogni-client';

export { SogniClient, ApiError, randomUUID };

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: start the tests through tests/conformance/run.sh`);
  return value;
}

export const SANDBOX_URL = requiredEnv('SANDBOX_URL').replace(/\/+$/, '');
export const API_KEY = requiredEnv('SANDBOX_API_KEY');
export const API_KEY_2 = process.env.SANDBOX_API_KEY_2 || '';
export const CAPTURE_DIR = process.env.CAPTURE_DIR || '';
export const WS_URL = SANDBOX_URL.replace(/^http/, 'ws');

// Only loopback is ever contacted: a URL anywhere else (a default SDK endpoint, a result URL that
// points at real storage) fails the request instead of leaving the machine.
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
{
  const u = new URL(SANDBOX_URL);
  if (u.protocol !== 'http:' || !LOOPBACK.has(u.hostname)) {
    throw new Error(`SANDBOX_URL must be http on loopback, got ${SANDBOX_URL}`);
  }
}

export const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'partial_failure']);

// ---------------------------------------------------------------------------------------------
// Capture
// ---------------------------------------------------------------------------------------------
const seen = new Set();
const nextIndex = new Map();
if (CAPTURE_DIR) mkdirSync(CAPTURE_DIR, { recursive: true });

/**
 * Write one record to $CAPTURE_DIR/<kind>-<n>.json. Test files run in separate processes, so n is
 * claimed with an exclusive create. Identical records are written once per process.
 * `text` (optional) is the exact body as received; otherwise `value` is serialized.
 */
export function capture(kind, value, context = {}, text = undefined) {
  if (!CAPTURE_DIR) return;
  const body = text !== undefined ? text : JSON.stringify(value, null, 2) + '\n';
  const digest = createHash('sha1').update(kind).update('\0').update(body).digest('hex');
  if (seen.has(digest)) return;
  seen.add(digest);
  let n = nextIndex.get(kind) ?? 1;
  for (;;) {
    const file = `${kind}-${n}.json`;
    try {
      writeFileSync(join(CAPTURE_DIR, file), body, { flag: 'wx' });
      nextIndex.set(kind, n + 1);
      appendFileSync(
        join(CAPTURE_DIR, 'index.jsonl'),
        JSON.stringify({ file, kind, test: process.argv[1]?.split('/').pop(), ...context }) + '\n'
      );
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      n += 1;
    }
  }
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function workflowArtifacts(workflow) {
  const out = [];
  if (!isObject(workflow)) return out;
  if (Array.isArray(workflow.artifacts)) out.push(...workflow.artifacts.filter(isObject));
  if (Array.isArray(workflow.steps)) {
    for (const step of workflow.steps) {
      if (isObject(step) && Array.isArray(step.artifacts)) out.push(...step.artifacts.filter(isObject));
    }
  }
  return out;
}

export function captureWorkflow(workflow, context) {
  if (!isObject(workflow)) return;
  capture('workflow', workflow, context);
  for (const artifact of workflowArtifacts(workflow)) capture('artifact', artifact, context);
  if (Array.isArray(workflow.events)) {
    for (const event of workflow.events) captureEvent(event, context);
  }
}

export function captureEvent(event, context) {
  if (!isObject(event)) return;
  capture('event', event, context);
  const data = event.data;
  if (isObject(data)) {
    if (isObject(data.artifact)) capture('artifact', data.artifact, context);
    if (Array.isArray(data.artifacts)) data.artifacts.filter(isObject).forEach((a) => capture('artifact', a, context));
  }
}

/** Sort a success body into records. The SDK accepts both the envelope and a bare object. */
function captureSuccessBody(body, context) {
  if (!isObject(body)) return;
  const data = body.status === 'success' && isObject(body.data) ? body.data : body;
  if (isObject(data.workflow)) captureWorkflow(data.workflow, context);
  if (Array.isArray(data.workflows)) data.workflows.forEach((w) => captureWorkflow(w, context));
  if (Array.isArray(data.events)) data.events.forEach((e) => captureEvent(e, context));
  if (isObject(data.template)) capture('template', data.template, context);
  if (Array.isArray(data.templates)) data.templates.filter(isObject).forEach((t) => capture('template', t, context));
}

/** Record one SSE frame the SDK yielded (frame = {id?, event, data, raw}). */
export function captureSseFrame(frame, context) {
  const data = frame?.data;
  if (!isObject(data)) return;
  const ctx = { ...context, sseEvent: frame.event, sseId: frame.id };
  if (typeof data.type === 'string' && 'sequence' in data) captureEvent(data, ctx);
  else if (isObject(data.workflow)) captureWorkflow(data.workflow, ctx);
  else capture('sse', data, ctx); // e.g. workflow_status {workflowId, status}: no protocol schema
}

// ---------------------------------------------------------------------------------------------
// fetch wrapper: loopback guard + capture. The SDK calls the global fetch at call time, so this
// sees every REST request it makes (RestClient, CreativeWorkflowsApi, Templates).
// ---------------------------------------------------------------------------------------------
const realFetch = globalThis.fetch;
if (!realFetch.__sogniConformance) {
  const wrapped = async function conformanceFetch(input, init = {}) {
    const url = new URL(typeof input === 'string' || input instanceof URL ? String(input) : input.url);
    if (!LOOPBACK.has(url.hostname)) {
      throw new Error(`conformance harness: refusing to contact ${url.origin} (only loopback is allowed)`);
    }
    const response = await realFetch(input, init);
    if (url.pathname.startsWith('/_sandbox/')) return response;
    const type = response.headers.get('content-type') || '';
    if (type.includes('text/event-stream')) return response;
    if (response.ok && !type.includes('json')) return response; // media bytes
    const method = (init.method || (typeof input === 'object' && input.method) || 'GET').toUpperCase();
    const context = { method, path: url.pathname + url.search, status: response.status };
    let text = '';
    try {
      text = await response.clone().text();
    } catch {
      return response;
    }
    if (!response.ok) {
      capture('error', null, context, text); // byte-for-byte: a non-JSON error body is itself a finding
      return response;
    }
    try {
      captureSuccessBody(JSON.parse(text), context);
    } catch {
      /* a 2xx JSON content type with a broken body: the SDK will report it */
    }
    return response;
  };
  wrapped.__sogniConformance = true;
  globalThis.fetch = wrapped;
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/** Collects what the SDK logs; it swallows many failures (socket frames, download URLs) and only logs them. */
export function recordingLogger({ echo = true } = {}) {
  const lines = { error: [], warn: [], info: [], debug: [] };
  const fmt = (args) =>
    args
      .map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : typeof a === 'string' ? a : safeJson(a)))
      .join(' ');
  const logger = {
    lines,
    error: (...args) => {
      lines.error.push(fmt(args));
      if (echo) console.error('[sdk error]', ...args);
    },
    warn: (...args) => {
      lines.warn.push(fmt(args));
      if (echo) console.error('[sdk warn]', ...args);
    },
    info: (...args) => lines.info.push(fmt(args)),
    debug: (...args) => lines.debug.push(fmt(args))
  };
  return logger;
}

function safeJson(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** A REST-only client, as a CLI or server would build it. */
export async function restClient({ apiKey = API_KEY, logger } = {}) {
  const config = {
    disableSocket: true,
    restEndpoint: SANDBOX_URL,
    socketEndpoint: WS_URL, // never opened with disableSocket, but never the public default either
    logger: logger || recordingLogger()
  };
  if (apiKey) config.apiKey = apiKey;
  return SogniClient.createInstance(config);
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP (routes the SDK has no method for, and envelope checks)
// ---------------------------------------------------------------------------------------------
export async function raw(method, path, { body, headers = {}, apiKey = API_KEY, timeoutMs = 10_000 } = {}) {
  const h = { ...headers };
  if (apiKey) h['api-key'] = apiKey;
  let payload;
  if (body !== undefined) {
    h['Content-Type'] = h['Content-Type'] || 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const response = await fetch(SANDBOX_URL + path, {
    method,
    headers: h,
    body: payload,
    signal: AbortSignal.timeout(timeoutMs)
  });
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export async function sandboxStats() {
  const r = await raw('GET', '/_sandbox/stats', { apiKey: '' });
  assert.equal(r.status, 200, `GET /_sandbox/stats answered ${r.status}: ${r.text.slice(0, 300)}`);
  assert.ok(isObject(r.json), 'GET /_sandbox/stats is not a JSON object');
  return r.json;
}

// ---------------------------------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------------------------------
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function withTimeout(promise, ms, what) {
  let timer;
  try {
    return await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      })
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Poll workflows.get until `predicate(record)` holds. Returns the record. */
export async function pollWorkflow(sogni, workflowId, predicate, { timeoutMs = 10_000, intervalMs = 10, what } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await sogni.workflows.get(workflowId);
    if (predicate(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what || 'a workflow state'}; last status ${last?.status}` +
          (last?.waitingReason ? ` (${last.waitingReason})` : '')
      );
    }
    await sleep(intervalMs);
  }
}

/**
 * Read the SDK's SSE iterator until it ends (the SDK stops by itself after a frame whose data.status
 * is completed|failed|cancelled; otherwise the server must close). Every frame is captured.
 * Returns { frames, lastStatus, endedBy: 'sdk'|'server'|'timeout' }.
 */
export async function streamAll(sogni, workflowId, { timeoutMs = 15_000, after, lastEventId, stopOn } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('stream deadline')), timeoutMs);
  const frames = [];
  let lastStatus;
  let endedBy = 'server';
  const options = { signal: controller.signal };
  if (after !== undefined) options.after = after;
  if (lastEventId !== undefined) options.lastEventId = lastEventId;
  try {
    for await (const frame of sogni.workflows.streamEvents(workflowId, options)) {
      frames.push(frame);
      captureSseFrame(frame, { path: `/v1/creative-agent/workflows/${workflowId}/events/stream` });
      const status = statusOfFrame(frame);
      if (status) lastStatus = status;
      if (status && ['completed', 'failed', 'cancelled'].includes(status)) endedBy = 'sdk';
      if (stopOn && stopOn(frame)) {
        endedBy = 'caller';
        break;
      }
    }
  } catch (error) {
    if (controller.signal.aborted) endedBy = 'timeout';
    else throw error;
  } finally {
    clearTimeout(timer);
  }
  return { frames, lastStatus, endedBy };
}

/** The status a frame reports, read the way runners do (data.status, data.workflow.status, data.data.status). */
export function statusOfFrame(frame) {
  const d = frame?.data;
  if (!isObject(d)) return undefined;
  if (typeof d.status === 'string') return d.status;
  if (isObject(d.workflow) && typeof d.workflow.status === 'string') return d.workflow.status;
  if (isObject(d.data) && typeof d.data.status === 'string') return d.data.status;
  return undefined;
}

/** Start a workflow and follow it to a terminal status over SSE; returns the final record. */
export async function runToEnd(sogni, params, { timeoutMs = 15_000 } = {}) {
  const started = await sogni.workflows.start(params);
  const stream = await streamAll(sogni, started.workflowId, { timeoutMs });
  assert.notEqual(stream.endedBy, 'timeout', `SSE for ${started.workflowId} did not end within ${timeoutMs} ms`);
  const final = await sogni.workflows.get(started.workflowId);
  return { started, stream, final };
}

export async function expectApiError(promise, status, what) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApiError, `${what}: expected an ApiError, got ${error?.name}: ${error?.message}`);
    assert.equal(error.status, status, `${what}: expected HTTP ${status}, got ${error.status} (${error.message})`);
    assert.equal(typeof error.message, 'string');
    return error;
  }
  assert.fail(`${what}: expected HTTP ${status}, but the call succeeded`);
}

// ---------------------------------------------------------------------------------------------
// Media checks
// ---------------------------------------------------------------------------------------------
export function mediaKind(bytes) {
  const b = new Uint8Array(bytes);
  const ascii = (from, to) => String.fromCharCode(...b.slice(from, to));
  if (b.length >= 8 && b[0] === 0x89 && ascii(1, 4) === 'PNG' && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (b.length >= 12 && ascii(4, 8) === 'ftyp') return 'mp4';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'wav';
  if (b.length >= 3 && (ascii(0, 3) === 'ID3' || (b[0] === 0xff && (b[1] & 0xe0) === 0xe0))) return 'mp3';
  return 'unknown';
}

/** Fetch a result URL the way a client would (no API key: result URLs are presigned). */
export async function download(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 200, `GET ${url} answered ${response.status}`);
  const bytes = await response.arrayBuffer();
  assert.ok(bytes.byteLength > 0, `GET ${url} returned no bytes`);
  return { bytes, kind: mediaKind(bytes), contentType: response.headers.get('content-type') || '' };
}

// ---------------------------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------------------------

/** The SDK README's own example: a generated keyframe feeding a video step by image index. */
export function keyframeToClipInput(title = 'Generated keyframe to video', { duration = 5 } = {}) {
  return {
    title,
    steps: [
      {
        id: 'keyframe',
        toolName: 'generate_image',
        arguments: {
          prompt: 'A graphite sketch of a robot pianist in a smoky jazz club',
          model: 'z-turbo',
          width: 1024,
          height: 576,
          seed: 7
        }
      },
      {
        id: 'clip',
        toolName: 'generate_video',
        arguments: {
          prompt: 'slow dolly-in, warm stage lights, subtle hand motion',
          videoModel: 'ltx23',
          duration
        },
        dependsOn: [
          {
            sourceStepId: 'keyframe',
            sourceArtifactIndex: 0,
            targetArgument: 'referenceImageIndices',
            mediaType: 'image',
            transform: 'image_index',
            required: true
          }
        ]
      }
    ]
  };
}

export function uniqueName(prefix) {
  return `${prefix} ${randomUUID().slice(0, 8)}`;
}
