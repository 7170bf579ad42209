import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { samplePhotos } from '../../src/lib/sample-photos';
import { jpeg } from '../support/images';
import { tempWorld, withWorkers } from '../support/pipeline';
import { devServerEnv } from '../support/temporal';
import { launchChromium, SCREENSHOT_DIR, startWebApp, type WebApp } from '../support/web';

/**
 * The photo site in a real browser (Debian's chromium driven by playwright-core) against a real dev server, real
 * workers and the real web server: what a person does, click by click. Screenshots of every page land in
 * test-output/screenshots/ for a person to look at.
 */

const STEP_TIMEOUT = 60_000;

describe('the photo site in a browser', () => {
  let env: TestWorkflowEnvironment;
  let world: ReturnType<typeof tempWorld>;
  let web: WebApp;
  let browser: Browser;
  let realPhoto: string;

  before(async () => {
    env = await devServerEnv();
    world = tempWorld();
    web = await startWebApp(env, world.config);
    browser = await launchChromium();
    // A real photograph of a sensible size (Debian's mate-backgrounds; see src/lib/sample-photos.ts).
    const photos = await samplePhotos();
    realPhoto = photos.find((p) => statSync(p).size > 300_000 && statSync(p).size < 3_000_000) ?? photos[0];
  });
  after(async () => {
    await browser?.close();
    await web?.close();
    await env?.teardown();
    world?.cleanup();
  });

  /** A fresh page that records what would show a broken page: script errors and CSP violations. */
  async function open(options: BrowserContextOptions = { viewport: { width: 1280, height: 900 } }) {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`script error: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) problems.push(message.text());
    });
    page.on('dialog', (dialog) => {
      problems.push(`unexpected dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    return { page, problems, close: () => context.close() };
  }
  const shoot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(SCREENSHOT_DIR, name), fullPage: true });
  const addFilter = async (page: Page, filter: string) => {
    await page.selectOption('#add-filter', filter);
    await page.click('#add-step');
  };
  const stepState = (page: Page, step: string) => page.getAttribute(`[data-step="${step}"]`, 'data-state');
  const waitForStatus = (page: Page, status: string) =>
    page.waitForSelector(`#status[data-status="${status}"]`, { timeout: STEP_TIMEOUT });

  it('uploads a real photo, shows every step and its preview as it lands, approves it and finds it in the gallery', async () => {
    const { page, problems, close } = await open();
    const title = `Holiday <b>${Date.now()}</b>`;
    const apiCalls: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/api/photos/')) apiCalls.push(`${request.method()} ${url.pathname}`);
    });
    try {
      await page.goto(web.base);
      await page.setInputFiles('#files', realPhoto);
      await page.fill('[data-filter="resize"] input[type="number"] >> nth=0', '800');
      await addFilter(page, 'sepia');
      await addFilter(page, 'watermark');
      await page.fill('[data-filter="watermark"] input[type="text"]', '© nano-photos test');
      await page.fill('#title', title);
      await page.check('#review');
      assert.equal(await page.isEnabled('#send'), true, 'the form is complete and valid');
      await shoot(page, 'upload.png');

      await withWorkers(env, world.config, async () => {
        await page.click('#send');
        await page.waitForURL(/\/runs\/photo-[0-9a-f]{12}-[0-9a-f]{6}$/);
        const workflowId = decodeURIComponent(page.url().split('/runs/')[1]);
        await page.waitForSelector('#approve', { timeout: STEP_TIMEOUT });
        for (const step of ['upload', 'resize', 'sepia', 'watermark', 'output']) {
          assert.equal(await stepState(page, step), 'done', `${step} is done`);
        }
        assert.equal(await stepState(page, 'review'), 'running');
        assert.equal(await stepState(page, 'share:gallery'), 'waiting');
        // Every intermediate's preview arrived and decoded (raw intermediates are rendered by the server).
        await page.waitForFunction(
          () => {
            const images = [...document.querySelectorAll<HTMLImageElement>('#steps img')];
            return images.length === 5 && images.every((i) => i.complete && i.naturalWidth > 0);
          },
          undefined,
          { timeout: STEP_TIMEOUT },
        );
        assert.match(
          (await page.getAttribute('#web-ui', 'href')) ?? '',
          new RegExp(`/namespaces/default/workflows/${workflowId}$`),
        );
        assert.equal(await page.textContent('h1'), title, 'the title is shown as text, not markup');
        await shoot(page, 'run-review.png');

        await page.fill('#reviewer', 'Ann Tester');
        await page.click('#approve');
        await waitForStatus(page, 'COMPLETED');
        assert.match((await page.textContent('#review-outcome')) ?? '', /^Approved by Ann Tester on /);
        assert.equal(await stepState(page, 'share:gallery'), 'done');
        await page.waitForSelector('#result img');
        await shoot(page, 'run-done.png');

        // The page followed the run through one event stream: no polling from the browser.
        const events = apiCalls.filter((c) => c === `GET /api/photos/${workflowId}/events`);
        assert.ok(events.length >= 1 && events.length <= 2, `event streams opened: ${events.length}`);
        assert.deepEqual(
          apiCalls.filter((c) => !c.endsWith('/events')),
          [`POST /api/photos/${workflowId}/approve`],
          'the only other call was the decision',
        );

        await page.goto(`${web.base}/gallery`);
        const first = page.locator('#gallery li').first();
        assert.equal(await first.locator('strong').textContent(), title);
        await page.waitForFunction(() => {
          const image = document.querySelector<HTMLImageElement>('#gallery img');
          return image?.complete && image.naturalWidth > 0;
        });
        await shoot(page, 'gallery.png');
        await first.locator('a', { hasText: 'run' }).click();
        await page.waitForURL(`${web.base}/runs/${workflowId}`);
        await waitForStatus(page, 'COMPLETED');

        // The ended run's intermediates are gone from the store: a browser that did not keep their previews is told
        // so; the original and the output still show. (A tall window: the previews load lazily.)
        const later = await open({ viewport: { width: 1280, height: 4000 } });
        try {
          await later.page.goto(`${web.base}/runs/${workflowId}`);
          await waitForStatus(later.page, 'COMPLETED');
          for (const step of ['resize', 'sepia', 'watermark']) {
            await later.page.waitForSelector(`[data-step="${step}"] p.hint:text("deleted when the run ended")`);
          }
          await later.page.waitForFunction(() =>
            ['upload', 'output'].every((step) => {
              const image = document.querySelector<HTMLImageElement>(`[data-step="${step}"] img`);
              return image?.complete && image.naturalWidth > 0;
            }),
          );
          assert.deepEqual(later.problems, []);
        } finally {
          await later.close();
        }
      });
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  it('rejects a photo dropped onto the page, and the gallery does not show it', async () => {
    const { page, problems, close } = await open();
    const title = `Rejected ${Date.now()}`;
    try {
      await page.goto(web.base);
      // Drag and drop: a file dropped on the drop zone, as a file manager would.
      const bytes = (await jpeg({ width: 640, height: 480 })).toString('base64');
      const dropped = await page.evaluateHandle((base64) => {
        const transfer = new DataTransfer();
        const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([data], 'dropped.jpg', { type: 'image/jpeg' }));
        return transfer;
      }, bytes);
      await page.dispatchEvent('#drop', 'drop', { dataTransfer: dropped });
      assert.equal(await page.textContent('#chosen .name'), 'dropped.jpg');
      await page.fill('#title', title);
      await page.check('#review');
      await withWorkers(env, world.config, async () => {
        await page.click('#send');
        await page.waitForURL(/\/runs\//);
        await page.waitForSelector('#reject', { timeout: STEP_TIMEOUT });
        await page.fill('#reviewer', 'Bob');
        await page.click('#reject');
        await waitForStatus(page, 'COMPLETED');
      });
      assert.match((await page.textContent('#review-outcome')) ?? '', /^Rejected by Bob on .*nothing was published\.$/);
      assert.equal(await stepState(page, 'share:gallery'), 'skipped');
      await shoot(page, 'run-rejected.png');
      await page.goto(`${web.base}/gallery`);
      assert.equal(await page.locator('#gallery strong', { hasText: title }).count(), 0);
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  /** Sends a small photo through resize and sepia, run as the form's `mode` says, and waits for the run to end. */
  async function runInMode(page: Page, mode: string) {
    await page.goto(web.base);
    await page.setInputFiles('#files', { name: `${mode}.jpg`, mimeType: 'image/jpeg', buffer: await jpeg() });
    await addFilter(page, 'sepia');
    await page.selectOption('#filter-mode', mode);
    await withWorkers(env, world.config, async () => {
      await page.click('#send');
      await page.waitForURL(/\/runs\//);
      await waitForStatus(page, 'COMPLETED');
    });
  }

  it("keeps the intermediates in the filter worker's memory when asked, and says so instead of a preview", async () => {
    const { page, problems, close } = await open();
    try {
      await runInMode(page, 'memory');
      // Only a run with intermediates: 'memory' leaves steps with no stored image to preview.
      for (const step of ['resize', 'sepia']) {
        assert.match((await page.textContent(`[data-step="${step}"]`)) ?? '', /held in a filter worker's memory/);
      }
      assert.equal(await page.locator('[data-step="output"] img').count(), 1, 'the output is stored and shown');
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  it('runs all filters as one service call when asked', async () => {
    const { page, problems, close } = await open();
    try {
      await runInMode(page, 'fuse');
      // The finished run lists what ran: the whole chain as one step.
      assert.equal(await stepState(page, 'resize+sepia+output'), 'done');
      assert.equal(await page.locator('[data-step="sepia"]').count(), 0);
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  it('shows mistakes next to their field before sending, and a non-image file’s error on the run page', async () => {
    const { page, problems, close } = await open();
    try {
      await page.goto(web.base);
      await page.setInputFiles('#files', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
      await addFilter(page, 'blur');
      const sigma = page.locator('[data-filter="blur"] input[type="number"]');
      await sigma.fill('5000');
      const error = page.locator('[data-filter="blur"] .param .field-error');
      assert.equal(
        await error.textContent(),
        'blur: expected sigma to be a number between 0.3 and 1000, received 5000 (number)',
      );
      assert.equal(await page.isEnabled('#send'), false, 'nothing can be sent while a field is wrong');
      await shoot(page, 'upload-field-error.png');
      await sigma.fill('2');
      assert.equal(await error.isHidden(), true);
      assert.equal(await page.isEnabled('#send'), true);

      await withWorkers(env, world.config, async () => {
        await page.click('#send');
        await page.waitForURL(/\/runs\//);
        await waitForStatus(page, 'FAILED');
      });
      assert.match((await page.textContent('#run-error')) ?? '', /^upload: not a supported image/);
      assert.equal(await stepState(page, 'upload'), 'failed');
      assert.equal(await stepState(page, 'blur'), 'skipped');
      await shoot(page, 'run-not-an-image.png');
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  it('cancels a run from its page', async () => {
    const { page, problems, close } = await open();
    try {
      await page.goto(web.base);
      await page.setInputFiles('#files', { name: 'c.jpg', mimeType: 'image/jpeg', buffer: await jpeg() });
      await page.check('#review');
      await withWorkers(env, world.config, async () => {
        await page.click('#send');
        await page.waitForURL(/\/runs\//);
        await page.waitForSelector('#approve', { timeout: STEP_TIMEOUT });
        await page.click('#cancel');
        await waitForStatus(page, 'CANCELLED');
      });
      assert.equal(await page.isVisible('#approve'), false, 'no decision offered once cancelled');
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  it('makes an album of five photos, follows all of them on one page and links each run', async () => {
    const { page, problems, close } = await open();
    try {
      await page.goto(web.base);
      const photos = await Promise.all(
        [0, 1, 2, 3, 4].map(async (i) => ({
          name: `album-${i + 1}.jpg`,
          mimeType: 'image/jpeg',
          buffer: await jpeg({ width: 400 + i * 40, height: 300 }),
        })),
      );
      await page.setInputFiles('#files', photos);
      assert.equal(await page.locator('#chosen li').count(), 5);
      await page.fill('#title', 'Five of them');
      await withWorkers(env, world.config, async () => {
        await page.click('#send');
        await page.waitForURL(/\/albums\/album-[0-9a-f]{12}$/);
        await waitForStatus(page, 'COMPLETED');
      });
      assert.equal(await page.textContent('h1'), 'Five of them');
      assert.equal(await page.textContent('#counts'), '5 done, 0 failed, of 5');
      assert.deepEqual(
        await page.locator('#photos li strong').allTextContents(),
        photos.map((p) => p.name),
      );
      assert.equal(await page.locator('#photos li[data-state="done"]').count(), 5);
      await page.waitForFunction(() =>
        [...document.querySelectorAll<HTMLImageElement>('#photos img')].every((i) => i.complete && i.naturalWidth > 0),
      );
      await shoot(page, 'album.png');
      await page.click('#photos li[data-photo="2"] a');
      await page.waitForURL(/\/runs\/album-[0-9a-f]{12}-0003$/);
      await waitForStatus(page, 'COMPLETED');
      assert.equal(await page.textContent('h1'), 'album-3.jpg');
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  it('is usable on a 390 px wide phone: nothing wider than the screen, every control reachable', async () => {
    const { page, problems, close } = await open({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    try {
      await page.goto(web.base);
      await page.setInputFiles('#files', realPhoto);
      await addFilter(page, 'grayscale');
      await shoot(page, 'upload-390.png');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
      const outside = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('input:not([type="file"]), select, button')]
          .filter((e) => e.offsetParent !== null)
          // A checkbox is tapped through its label, which wraps it.
          .map((e) => ({
            id: e.id || e.getAttribute('aria-label') || e.tagName,
            box: ((e as HTMLInputElement).type === 'checkbox' ? (e.closest('label') ?? e) : e).getBoundingClientRect(),
          }))
          .filter(({ box }) => box.left < 0 || box.right > window.innerWidth || box.width < 24 || box.height < 24)
          .map(({ id, box }) => `${id}: ${Math.round(box.left)}..${Math.round(box.right)} x ${Math.round(box.height)}`),
      );
      assert.deepEqual(outside, [], 'every control lies on the screen and is big enough to tap');

      await withWorkers(env, world.config, async () => {
        await page.tap('#send');
        await page.waitForURL(/\/runs\//);
        await waitForStatus(page, 'COMPLETED');
      });
      await shoot(page, 'run-390.png');
      const runOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(runOverflow <= 0, `the run page is ${runOverflow} px wider than the screen`);
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });
});
