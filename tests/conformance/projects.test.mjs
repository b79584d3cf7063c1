// A direct image project over the projects WebSocket, driven only through the official SDK:
// createInstance opens the socket (api-key on the upgrade), projects.create sends jobRequest, and
// the SDK's own events and waitForCompletion decide when it is done and what the result URL is.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  API_KEY,
  SANDBOX_URL,
  SogniClient,
  WS_URL,
  download,
  randomUUID,
  recordingLogger,
  withTimeout
} from './lib/harness.mjs';

const T = { timeout: 20_000 };
let sogni;
let logger;
let authenticated;
const projectEvents = [];
const jobEvents = [];

before(async () => {
  logger = recordingLogger();
  sogni = await SogniClient.createInstance({
    appId: `sogni-flow-conformance-${randomUUID()}`,
    apiKey: API_KEY,
    restEndpoint: SANDBOX_URL,
    socketEndpoint: WS_URL,
    network: 'fast',
    logger
  });
  // createInstance starts the socket without awaiting it; frames arrive on later I/O turns, so
  // listeners attached here cannot miss the handshake.
  authenticated = new Promise((resolve) => {
    const off = sogni.apiClient.socket.on('authenticated', (data) => {
      off();
      resolve(data);
    });
  });
  sogni.projects.on('project', (e) => projectEvents.push(e));
  sogni.projects.on('job', (e) => jobEvents.push(e));
});

after(() => sogni?.dispose());

describe('projects over the WebSocket', () => {
  test('the socket authenticates and the account is readable', T, async () => {
    const data = await withTimeout(authenticated, 5_000, 'the server\'s "authenticated" frame');
    assert.ok(data && typeof data === 'object', 'authenticated carries a payload');
    if (data.clientType !== undefined) assert.equal(data.clientType, 'artist');
    assert.ok(Array.isArray(data.activeProjects ?? []), 'activeProjects, when present, is an array');
    // createInstance with an API key calls GET /v1/account/me in the background; call it directly too.
    const me = await sogni.account.me();
    assert.equal(typeof me.username, 'string');
    assert.equal(sogni.currentAccount.username, me.username, 'me() fills the current account');
  });

  let project;
  let resultUrls;

  test('an image project runs to completion through the SDK', T, async () => {
    await withTimeout(authenticated, 5_000, 'authenticated');
    project = await withTimeout(
      sogni.projects.create({
        type: 'image',
        modelId: 'flux1-schnell-fp8',
        positivePrompt: 'A lighthouse on a basalt cliff at dawn, film photograph',
        numberOfMedia: 1,
        steps: 4,
        tokenType: 'spark'
      }),
      10_000,
      'projects.create (models list, tiers, jobRequest send)'
    );
    assert.match(project.id, /^[0-9A-F-]{36}$/, 'the SDK mints an uppercase UUID project id');

    const progress = [];
    project.on('progress', (p) => progress.push(p));
    resultUrls = await withTimeout(project.waitForCompletion(), 15_000, 'project.waitForCompletion()');

    assert.equal(project.status, 'completed');
    assert.equal(project.finished, true);
    assert.equal(resultUrls.length, 1, `one result URL for numberOfMedia 1, got ${JSON.stringify(resultUrls)}`);
    assert.equal(project.jobs.length, 1);
    const [job] = project.jobs;
    assert.equal(job.status, 'completed');
    assert.equal(job.resultUrl, resultUrls[0]);
    assert.ok(job.step > 0, 'the job reports the steps it ran');
    assert.equal(project.progress, 100);

    const mine = (e) => e.projectId === project.id;
    assert.ok(projectEvents.filter(mine).some((e) => e.type === 'completed'), 'a project "completed" event (jobState jobCompleted)');
    const types = new Set(jobEvents.filter(mine).map((e) => e.type));
    assert.ok(types.has('started') || types.has('initiating'), `a job start event, saw ${[...types]}`);
    assert.ok(types.has('progress'), `job progress events, saw ${[...types]}`);
    assert.ok(types.has('completed'), `a job "completed" event (jobResult), saw ${[...types]}`);
    const completed = jobEvents.find((e) => mine(e) && e.type === 'completed');
    assert.equal(completed.jobId, job.id);
    assert.equal(completed.isNSFW, false);
    assert.equal(completed.userCanceled, false);
  });

  test('the result URL serves a PNG or JPEG', T, async () => {
    assert.ok(resultUrls?.length, 'needs the project from the previous test');
    const url = new URL(resultUrls[0]);
    assert.ok(['127.0.0.1', 'localhost'].includes(url.hostname), `result URL is on the sandbox: ${url}`);
    const media = await download(resultUrls[0]);
    assert.ok(['png', 'jpeg'].includes(media.kind), `result bytes are ${media.kind} (content-type ${media.contentType})`);
  });

  test('the finished project is stored for GET /v1/projects/:id', T, async () => {
    assert.ok(project, 'needs the project from the previous test');
    const rawProject = await sogni.projects.get(project.id);
    assert.equal(String(rawProject.id).toUpperCase(), project.id);
    assert.equal(rawProject.status, 'completed');
    assert.equal(rawProject.imageCount, 1);
    assert.ok(Array.isArray(rawProject.completedWorkerJobs), 'completedWorkerJobs is an array');
    const job = rawProject.completedWorkerJobs.find((j) => String(j.imgID || '').toUpperCase() === project.jobs[0].id);
    assert.ok(job, `completedWorkerJobs has imgID ${project.jobs[0].id}: ${JSON.stringify(rawProject.completedWorkerJobs)}`);
    assert.equal(job.status, 'jobCompleted');
  });

  test('the SDK logged no errors', T, async () => {
    // Give the SDK's background work (the post-completion project sync) a moment to finish.
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(logger.lines.error, [], 'SDK error log lines');
    assert.deepEqual(
      logger.lines.warn.filter((l) => /not found in the REST project data|Failed to parse WebSocket message/.test(l)),
      [],
      'SDK warnings that point at the sandbox'
    );
  });
});
