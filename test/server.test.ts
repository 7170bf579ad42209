import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../src/lib/dev-server';
import { freePort } from '../src/lib/free-port';
import { provisionTemporalCli } from '../src/provision/temporal-cli';
import { ensureDevServer } from '../src/lib/local-server';

describe('the local dev server (npm run server)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nano-photos-server-'));
  let server: DevServer | undefined;
  after(async () => {
    await server?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps runs across a SIGKILL and restart, and reuses a server that already answers', async () => {
    const cli = await provisionTemporalCli();
    const options = { port: await freePort(), uiPort: await freePort(), dbFile: path.join(dir, 'temporal.db') };
    server = await startDevServer(options, cli);
    const connection = await Connection.connect({ address: server.address });
    await new Client({ connection }).workflow.start('processPhoto', {
      taskQueue: 'nobody-polls-this',
      workflowId: 'before-the-crash',
      args: [{}],
    });
    await connection.close();

    await server.child.kill('SIGKILL');
    server = await startDevServer(options, cli);
    const { stdout } = await promisify(execFile)(cli, ['workflow', 'list', '--address', server.address]);
    assert.match(stdout, /before-the-crash/);

    const ui = await fetch(server.uiUrl!);
    assert.equal(ui.status, 200, 'the Web UI answers');

    const reused = await ensureDevServer({
      ip: '127.0.0.1',
      port: options.port,
      uiPort: options.uiPort,
      dbFile: options.dbFile,
    });
    assert.equal(reused.server, undefined, 'nothing new was started');
  });
});
