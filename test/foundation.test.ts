import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { devServerEnv, timeSkippingEnv, workflowBundle } from './support/temporal';

const greet = async (name: string) => `hello, ${name}`;
const workflowsPath = require.resolve('./workflows/greetings');

describe('time-skipping test server (provisioned)', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await timeSkippingEnv();
  });
  after(async () => env?.teardown());

  it('sleeps a simulated day in seconds of wall time', async () => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'sleepy',
      workflowBundle: await workflowBundle(workflowsPath),
      activities: { greet },
    });
    const startedWorkflowTime = await env.currentTimeMs();
    const result = await worker.runUntil(
      env.client.workflow.execute('sleepADay', { args: ['day'], taskQueue: 'sleepy', workflowId: 'sleepy-day' }),
    );
    assert.equal(result, 'hello, day');
    const skipped = (await env.currentTimeMs()) - startedWorkflowTime;
    assert.ok(skipped >= 24 * 3600 * 1000, `workflow time advanced ${skipped} ms, expected at least a day`);
  });
});

describe('dev server (provisioned Temporal CLI)', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await devServerEnv();
  });
  after(async () => env?.teardown());

  it('runs a workflow with an activity on a real worker', async () => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'foundation',
      workflowBundle: await workflowBundle(workflowsPath),
      activities: { greet },
    });
    const handle = await env.client.workflow.start('greetNow', {
      args: ['dev'],
      taskQueue: 'foundation',
      workflowId: 'dev-greet',
    });
    assert.equal(await worker.runUntil(handle.result()), 'hello, dev');
    const history = await handle.fetchHistory();
    assert.ok(
      history.events!.some((e) => e.activityTaskCompletedEventAttributes),
      'the activity ran on the worker',
    );
  });
});
