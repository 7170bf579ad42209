import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from '../src/lib/free-port';
import { projectRoot } from '../src/lib/project-root';
import { jpeg } from './support/images';

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(!socket.destroy()));
    socket.once('error', () => resolve(false));
  });
}

// The README's first command, end to end: a dev server of its own, workers in the process, the photo site beside
// them, one photo through the whole pipeline, and everything it started stopped again (--exit).
describe('npm run demo', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('sends a photo through upload, filters and gallery, with the photo site up, and stops what it started', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nano-photos-demo-'));
    dirs.push(dir);
    const photo = path.join(dir, 'holiday.jpg');
    await writeFile(photo, await jpeg({ width: 320, height: 240 }));
    const [serverPort, uiPort, webPort] = [await freePort(), await freePort(), await freePort()];
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !/^(TEMPORAL_|NANO_PHOTOS_)/.test(key)),
    );
    const { stdout } = await promisify(execFile)('npm', ['run', 'demo', '--', '--exit', '--photo', photo], {
      cwd: projectRoot,
      timeout: 240_000,
      env: {
        ...env,
        NANO_PHOTOS_DATA_DIR: path.join(dir, 'data'),
        NANO_PHOTOS_SERVER_DB: path.join(dir, 'server.db'),
        NANO_PHOTOS_SERVER_PORT: String(serverPort),
        NANO_PHOTOS_UI_PORT: String(uiPort),
        NANO_PHOTOS_WEB_PORT: String(webPort),
        TEMPORAL_ADDRESS: `127.0.0.1:${serverPort}`,
      },
    });
    assert.match(stdout, new RegExp(`Started a Temporal dev server on 127\\.0\\.0\\.1:${serverPort}`));
    assert.match(stdout, new RegExp(`Photo site: http://127\\.0\\.0\\.1:${webPort}`));
    assert.match(stdout, /^original: 320x240 jpeg /m);
    assert.match(stdout, /^output: {3}\d+x\d+ jpeg, \d+ bytes/m);
    const shared = /^shared: {3}gallery → (.+)$/m.exec(stdout);
    assert.ok(shared, stdout);
    assert.ok(shared[1].startsWith(path.join(dir, 'data')), shared[1]);
    assert.ok(existsSync(shared[1]), `the gallery copy ${shared[1]} exists`);
    assert.deepEqual(
      await Promise.all([serverPort, uiPort, webPort].map(listening)),
      [false, false, false],
      'the dev server, its Web UI and the photo site are stopped',
    );
  });
});
