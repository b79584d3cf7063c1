// The SDK through the sandbox's socket faults, on a sandbox of its own (run.sh's has none):
// jobRetry storms (each job requeued under new imgIDs, matched by jobIndex), a socket dropped
// mid-project (the SDK reconnects and the project is handed back), the 1001 "server
// restarting" refusal (the SDK resends once) and results without resultUrl (minted through
// the downloadUrl routes).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { SogniClient, download, randomUUID, recordingLogger, withTimeout } from './lib/harness.mjs';

const T = { timeout: 30_000 };
const KEY = randomBytes(16).toString('hex');
const children = [];

/** A sandbox of its own with `faults`; resolves to its URL once it listens. */
async function startSandbox(faults) {
  const bin = process.env.SOGNI_FLOW_BIN;
  assert.ok(bin, 'SOGNI_FLOW_BIN is not set: start the tests through tests/conformance/run.sh');
  const child = spawn(bin, ['sandbox', '--host', '127.0.0.1', '--port', '0', '--api-key', KEY, '--step-ms', '20',
    '--faults', faults], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return withTimeout(new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`the sandbox with ${faults} exited ${code}`)));
  }), 60_000, `the sandbox with ${faults} to listen`);
}

after(() => children.forEach((c) => c.kill('SIGTERM')));

/** One image project of two jobs through the SDK against a sandbox with `faults`. */
async function survives(faults, check) {
  const url = await startSandbox(faults);
  const logger = recordingLogger({ echo: false });
  const sogni = await SogniClient.createInstance({
    appId: `sogni-flow-conformance-${randomUUID()}`,
    apiKey: KEY,
    restEndpoint: url,
    socketEndpoint: url.replace(/^http/, 'ws'),
    network: 'fast',
    logger
  });
  try {
    const seen = { jobRetry: [] };
    sogni.apiClient.socket.on('jobRetry', (d) => seen.jobRetry.push(d));
    const project = await sogni.projects.create({
      type: 'image',
      modelId: 'flux1-schnell-fp8',
      positivePrompt: 'a lighthouse in a storm',
      numberOfMedia: 2,
      steps: 4,
      tokenType: 'spark'
    });
    const urls = await withTimeout(project.waitForCompletion(), 25_000, `waitForCompletion with ${faults}`);
    assert.equal(project.status, 'completed');
    assert.equal(urls.length, 2);
    for (const u of urls) assert.equal((await download(u)).kind, 'png');
    assert.equal(project.jobs.length, 2, 'retried jobs are matched by jobIndex, not added');
    const stats = await (await fetch(`${url}/_sandbox/stats`)).json();
    const name = faults.split('=')[0];
    assert.ok(stats.faults?.[name] >= 1, `${name} fired: ${JSON.stringify(stats.faults)}`);
    if (check) check(seen);
  } finally {
    sogni.dispose();
  }
}

describe('the SDK survives the socket faults', () => {
  test('jobRetry storms: each job requeued under new imgIDs', T, () =>
    survives('retry_storm=1', (seen) => assert.ok(seen.jobRetry.length >= 2, `jobRetry frames: ${seen.jobRetry.length}`)));
  test('a socket dropped mid-project', T, () => survives('socket_drop_after=8'));
  test('the 1001 "server restarting" refusal, resent once', T, () => survives('restart_refusal=1'));
  test('results without resultUrl, minted through downloadUrl', T, () => survives('omit_result_url=1'));
  test('duplicated frames', T, () => survives('socket_duplicate=0.5'));
});
