// Workflow templates through the official SDK: create, list own, get, update (version bump), fork,
// delete; ownership seen from a second API key (another wallet); running a saved template.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY_2, expectApiError, restClient, streamAll, uniqueName } from './lib/harness.mjs';

const T = { timeout: 20_000 };
let owner;
let other;

before(async () => {
  owner = await restClient();
  if (API_KEY_2) other = await restClient({ apiKey: API_KEY_2 });
});
after(() => {
  owner?.dispose();
  other?.dispose();
});

function templateBody(name, extra = {}) {
  return {
    name,
    description: 'Conformance: a keyframe from the brief, animated into a short clip',
    category: 'cinematic',
    tags: ['conformance'],
    inputs: [
      { name: 'brief', type: 'text', required: true, description: 'What to show' },
      { name: 'duration', type: 'number', required: false, default: 5 }
    ],
    stages: [
      {
        id: 'keyframe',
        toolName: 'generate_image',
        arguments: { prompt: '$inputs.brief', model: 'z-turbo', width: 1024, height: 576 }
      },
      {
        id: 'clip',
        toolName: 'generate_video',
        arguments: { prompt: '$inputs.brief', videoModel: 'ltx23', duration: '$inputs.duration' },
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
    ],
    ...extra
  };
}

function patchOf(version) {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(String(version));
  assert.ok(m, `version is semver x.y.z, got ${version}`);
  return m.slice(1).map(Number);
}

describe('workflow templates', () => {
  test('create, list own, get, update bumps the version, fork, delete', T, async () => {
    const name = uniqueName('Conformance keyframe to clip');
    const created = await owner.workflows.templates.create(templateBody(name));
    assert.equal(typeof created.id, 'string');
    assert.ok(created.id.length > 0, 'the server derives an id when none is given');
    assert.equal(created.name, name);
    assert.equal(created.version, '0.0.1', 'version defaults to 0.0.1');
    assert.equal(created.visibility, 'private', 'visibility defaults to private');
    assert.equal(created.stability, 'experimental', 'stability defaults to experimental');
    assert.equal(created.category, 'cinematic');

    const fetched = await owner.workflows.templates.get(created.id);
    assert.equal(fetched.id, created.id);
    assert.equal(fetched.name, name);
    assert.deepEqual(fetched.stages, created.stages);

    const own = await owner.workflows.templates.list({ visibility: 'own', limit: 200 });
    assert.ok(own.templates.some((t) => t.id === created.id), 'list(own) includes the new template');
    assert.ok(own.nextCursor === null || Number.isInteger(own.nextCursor), `nextCursor is null or an offset: ${own.nextCursor}`);
    const page = await owner.workflows.templates.list({ visibility: 'own', limit: 1 });
    assert.ok(page.templates.length <= 1, `limit=1 returned ${page.templates.length}`);

    const updated = await owner.workflows.templates.update(created.id, { description: 'Updated once' });
    assert.equal(updated.id, created.id);
    assert.equal(updated.description, 'Updated once');
    assert.equal(updated.name, name, 'a partial update keeps the other fields');
    const [a0, b0, c0] = patchOf(created.version);
    assert.deepEqual(patchOf(updated.version), [a0, b0, c0 + 1], `update bumps the patch: ${created.version} -> ${updated.version}`);
    const updatedTwice = await owner.workflows.templates.update(created.id, { tags: ['conformance', 'twice'] });
    assert.deepEqual(patchOf(updatedTwice.version), [a0, b0, c0 + 2]);
    assert.equal((await owner.workflows.templates.get(created.id)).version, updatedTwice.version);

    const forkName = uniqueName('Conformance fork');
    const forked = await owner.workflows.templates.fork(created.id, { newName: forkName });
    assert.notEqual(forked.id, created.id, 'a fork is a new template');
    assert.equal(forked.name, forkName);
    assert.equal(forked.visibility, 'private', 'a fork is a private copy');
    assert.deepEqual(forked.stages, created.stages, 'a fork copies the stages');

    await owner.workflows.templates.delete(created.id);
    await expectApiError(owner.workflows.templates.get(created.id), 404, 'get after delete');
    await expectApiError(owner.workflows.templates.delete(created.id), 404, 'delete twice');
    const ownAfter = await owner.workflows.templates.list({ visibility: 'own', limit: 200 });
    assert.ok(!ownAfter.templates.some((t) => t.id === created.id), 'a deleted template leaves the list');
    assert.ok(ownAfter.templates.some((t) => t.id === forked.id), 'the fork outlives its source');
    await owner.workflows.templates.delete(forked.id);
  });

  test('another wallet gets 404 for a private template and cannot change a public one', T, async (t) => {
    if (!other) {
      t.skip('SANDBOX_API_KEY_2 is not set (run.sh starts the sandbox with two keys)');
      return;
    }
    const priv = await owner.workflows.templates.create(templateBody(uniqueName('Conformance private')));
    await expectApiError(other.workflows.templates.get(priv.id), 404, 'get of a private template by another wallet');
    await expectApiError(
      other.workflows.templates.update(priv.id, { description: 'not mine' }),
      404,
      'update by another wallet ("not owned" answers as "not found")'
    );
    await expectApiError(other.workflows.templates.delete(priv.id), 404, 'delete by another wallet');
    await expectApiError(other.workflows.templates.fork(priv.id, {}), 404, 'fork of a private template by another wallet');
    const theirs = await other.workflows.templates.list({ visibility: 'own', limit: 200 });
    assert.ok(!theirs.templates.some((x) => x.id === priv.id), "another wallet's own list excludes it");
    assert.equal((await owner.workflows.templates.get(priv.id)).description, templateBody('x').description, 'unchanged');

    const pub = await owner.workflows.templates.create(
      templateBody(uniqueName('Conformance public'), { visibility: 'public' })
    );
    assert.equal(pub.visibility, 'public');
    const seen = await other.workflows.templates.get(pub.id);
    assert.equal(seen.id, pub.id, 'a public template is readable by any caller');
    const publicList = await other.workflows.templates.list({ visibility: 'public', limit: 200 });
    assert.ok(publicList.templates.some((x) => x.id === pub.id), 'list(public) shows it to another wallet');
    await expectApiError(other.workflows.templates.update(pub.id, { name: 'hijack' }), 404, 'update of a public template by a non-owner');
    await expectApiError(other.workflows.templates.delete(pub.id), 404, 'delete of a public template by a non-owner');
    const copy = await other.workflows.templates.fork(pub.id, { newName: uniqueName('Conformance their copy') });
    assert.notEqual(copy.id, pub.id);
    assert.equal(copy.visibility, 'private');
    assert.ok(
      (await other.workflows.templates.list({ visibility: 'own', limit: 200 })).templates.some((x) => x.id === copy.id),
      'the fork belongs to the wallet that forked it'
    );
    await expectApiError(owner.workflows.templates.get(copy.id), 404, "the owner of the source cannot read the other wallet's private fork");

    await other.workflows.templates.delete(copy.id);
    await owner.workflows.templates.delete(pub.id);
    await owner.workflows.templates.delete(priv.id);
  });

  test('start a workflow from a saved template (workflow_id + inputs)', T, async () => {
    const tpl = await owner.workflows.templates.create(templateBody(uniqueName('Conformance runnable')));
    const started = await owner.workflows.start({
      workflowId: tpl.id,
      inputs: { brief: 'A chrome monorail over neon gardens', duration: 5 },
      tokenType: 'spark'
    });
    assert.equal(typeof started.workflowId, 'string');
    assert.notEqual(started.workflowId, tpl.id, 'a run gets its own id');
    const stream = await streamAll(owner, started.workflowId);
    assert.equal(stream.lastStatus, 'completed', `the templated run completes (ended by ${stream.endedBy})`);
    const final = await owner.workflows.get(started.workflowId);
    assert.equal(final.steps?.length, 2, 'the run has one step per template stage');
    await owner.workflows.templates.delete(tpl.id);
  });
});
