import path from 'node:path';
import { parseArgs } from 'node:util';
import { CancelledFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { validateChain } from '../common/filter-chain';
import { progressQuery } from '../../workflows';
import { SHARE_TARGETS, type ProcessPhotoInput, type ShareTarget } from '../common/workflow-io';
import { innermostMessage } from '../common/failures';
import type { UploadSource } from '../common/types';
import { openBlobStore } from '../lib/blob-store';
import { DEFAULT_UI_URL, loadConfig, type PhotoConfig } from '../lib/config';
import { connectClient } from '../lib/connection';
import { describeSweep, ensureSweepSchedule, sweepNow } from '../lib/store-sweep';
import { DEFAULT_RETENTION, SWEEP_EVERY, SWEEP_SCHEDULE_ID } from '../common/retention';
import { dataConverterFor } from '../lib/payload-codec';
import { filterHelp, parseFilterFlag } from '../lib/filter-flags';
import {
  describeProgress,
  describeResult,
  putPhotoFile,
  startPhotoRun,
  watchRun,
  webUiLink,
  type PhotoHandle,
} from '../lib/photo-runs';

const HELP = `Usage:
  npm run photo -- <file or http(s) URL> [--filter NAME[:KEY=VALUE,...]]... [--share TARGET]... [options]
  npm run photo -- status <workflow-id>     where a run is, from any shell
  npm run photo -- result <workflow-id>     wait for a run and print its outputs
  npm run photo -- cancel <workflow-id>     stop a run; it removes its gallery entry, then ends CANCELLED
  npm run photo -- sweep [--schedule]        sweep the blob store now (or only create/update its Schedule)

Starts a processPhoto run: upload → the filters, in the order given → every share target in parallel. A local
file is first put into the blob store the workers use (NANO_PHOTOS_BLOB_URL, else NANO_PHOTOS_DATA_DIR), so the workers need not share
this machine's disk; a URL is fetched by the upload service. It prints the workflow ID and its Web UI link, shows live progress and prints the outputs. Workers must be running
(npm run worker, or npm run demo).

Options:
  --filter SPEC   a filter step, repeatable; e.g. --filter resize:width=1080 --filter watermark:text="© me"
  --share TARGET  ${SHARE_TARGETS.join(' or ')}, repeatable
  --title TEXT    title for the gallery and messages, and a Bluesky post's alt text (default: the file name)
  --id ID         workflow ID (default photo-<content hash>-<random>)
  --worker-path   send the file's path instead of its bytes: the upload worker reads it from its own disk
                  (it must lie under the worker's NANO_PHOTOS_UPLOAD_ROOTS, by default its inbox <data dir>/inbox)
  --detach        start the run (or ask to cancel it) and return at once
  --schedule      with sweep: create the store sweep's Schedule (${SWEEP_SCHEDULE_ID}, every ${SWEEP_EVERY}) or bring
                  its retention up to date, without sweeping now
  --json          machine-readable output on stdout
  -h, --help      this text

Filters:
${filterHelp()}

Share targets: gallery (index.html and images in NANO_PHOTOS_GALLERY_URL, else under NANO_PHOTOS_DATA_DIR), webhook (Slack/Discord-style POST to
the worker's NANO_PHOTOS_WEBHOOK_URL, HMAC-signed with NANO_PHOTOS_WEBHOOK_SECRET).
Disk use: a run's intermediates are deleted when the run ends, whatever the ending; originals and outputs
are kept NANO_PHOTOS_RETENTION after their last use (default ${DEFAULT_RETENTION}, at least 31 days). The sweep deletes
older ones and the intermediates of runs that ended without deleting theirs (terminated runs); workers with the
workflow service schedule it. The gallery's published copies are not touched.
Connection: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE; Web UI links
use TEMPORAL_UI_URL (default ${DEFAULT_UI_URL}). Exit code 0 on success, 1 with a one-line reason otherwise.`;

/** Commands that take a workflow ID rather than a photo. */
const RUN_COMMANDS = ['status', 'result', 'cancel'];

interface Output {
  json: boolean;
}

function emit(out: Output, human: string, data: object): void {
  console.log(out.json ? JSON.stringify(data) : human);
}

/** Checks the request here first, so nothing is stored or started for a typo. */
function checkRequest(filters: string[], shares: string[]): Omit<ProcessPhotoInput, 'source'> {
  const steps = validateChain(filters.map(parseFilterFlag));
  for (const target of shares) {
    if (!SHARE_TARGETS.includes(target as ShareTarget)) {
      throw new Error(`--share: unknown target "${target}"; expected ${SHARE_TARGETS.join(' or ')}`);
    }
  }
  return { filters: steps, share: shares as ShareTarget[] };
}

/**
 * A URL goes as it is; a local file goes into the blob store (the workers need not share this machine's disk), or
 * with --worker-path as a path the upload worker reads from its own disk.
 */
async function sourceOf(arg: string, workerPath: boolean, config: PhotoConfig): Promise<UploadSource> {
  if (/^https?:\/\//i.test(arg)) return { url: arg };
  if (workerPath) return { path: path.resolve(arg) };
  return putPhotoFile(openBlobStore(config.blobStore), path.resolve(arg));
}

/** The Web UI page of a run. */
type LinkOf = (workflowId: string) => string;

async function follow(handle: PhotoHandle, out: Output, linkOf: LinkOf): Promise<void> {
  const link = linkOf(handle.workflowId);
  const result = await watchRun(handle, (p) => {
    if (!out.json) console.log(`  ${describeProgress(p)}`);
  });
  emit(out, describeResult(result), { workflowId: handle.workflowId, status: 'COMPLETED', webUi: link, result });
}

async function status(client: Client, id: string, out: Output, linkOf: LinkOf): Promise<void> {
  const handle = client.workflow.getHandle(id);
  const description = await handle.describe();
  const progress = await Promise.race([
    handle.query(progressQuery).catch(() => undefined),
    new Promise<undefined>((r) => setTimeout(r, 3000)),
  ]);
  const link = linkOf(id);
  emit(out, `${id}: ${description.status.name}${progress ? `  ${describeProgress(progress)}` : ''}\nWeb UI: ${link}`, {
    workflowId: id,
    status: description.status.name,
    progress,
    webUi: link,
  });
}

/**
 * Asks the run to stop (as the Web UI's Cancel button does), then, unless detached, waits until it has undone
 * what it can and ended. A run that completes first cannot be cancelled any more: that is an error here.
 */
async function cancel(handle: PhotoHandle, out: Output, linkOf: LinkOf, detach: boolean): Promise<void> {
  const id = handle.workflowId;
  await handle.cancel();
  if (detach)
    return emit(out, `asked ${id} to cancel\nWeb UI: ${linkOf(id)}`, { workflowId: id, status: 'CANCEL_REQUESTED' });
  if (!out.json) console.log(`asked ${id} to cancel; waiting for it to clean up and end...`);
  try {
    await handle.result();
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
      return emit(out, `${id}: CANCELLED`, { workflowId: id, status: 'CANCELLED', webUi: linkOf(id) });
    }
    throw err;
  }
  throw new Error(`${id} completed before the cancellation reached it; its outputs are kept`);
}

/** The store's sweep, now (printing what it removed) or only its Schedule. */
async function sweep(client: Client, config: PhotoConfig, out: Output, scheduleOnly: boolean): Promise<void> {
  if (scheduleOnly) {
    const outcome = await ensureSweepSchedule(client, config.retentionMs);
    return emit(out, `Schedule ${SWEEP_SCHEDULE_ID} ${outcome}: sweeps every ${SWEEP_EVERY}`, {
      scheduleId: SWEEP_SCHEDULE_ID,
      outcome,
    });
  }
  if (!out.json) console.log(`sweeping the blob store (retention ${config.retentionMs / 86_400_000} days)...`);
  const summary = await sweepNow(client, config.retentionMs);
  emit(out, describeSweep(summary), summary);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      filter: { type: 'string', multiple: true, default: [] },
      share: { type: 'string', multiple: true, default: [] },
      title: { type: 'string' },
      id: { type: 'string' },
      detach: { type: 'boolean', default: false },
      'worker-path': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      schedule: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    console.log(HELP);
    return;
  }
  const out = { json: values.json };
  const [command, id] = positionals;
  const byId = RUN_COMMANDS.includes(command);
  if (byId && positionals.length !== 2) {
    throw new Error(`${command}: expected one workflow ID, e.g. npm run photo -- ${command} photo-1a2b3c4d5e6f-0a1b2c`);
  }
  if (positionals.length > 1 && !byId) {
    throw new Error(`expected one photo, received ${positionals.length} arguments: ${positionals.join(' ')}`);
  }
  const request = byId || command === 'sweep' ? undefined : checkRequest(values.filter, values.share);
  const config = loadConfig();
  const linkOf: LinkOf = (workflowId) => webUiLink(config.uiUrl, config.connection.namespace, workflowId);
  const client = await connectClient(config.connection, dataConverterFor(config.codecKeys));
  try {
    if (command === 'status') return await status(client, id, out, linkOf);
    if (command === 'result') return await follow(client.workflow.getHandle(id), out, linkOf);
    if (command === 'cancel') return await cancel(client.workflow.getHandle(id), out, linkOf, values.detach);
    if (command === 'sweep') return await sweep(client, config, out, values.schedule);
    const source = await sourceOf(command, values['worker-path'], config);
    const title = values.title ?? ('url' in source ? undefined : path.basename(command));
    const handle = await startPhotoRun(client, { source, ...request, ...(title ? { title } : {}) }, values.id);
    const link = linkOf(handle.workflowId);
    if (values.detach) {
      emit(out, `started ${handle.workflowId}\nWeb UI: ${link}`, {
        workflowId: handle.workflowId,
        status: 'RUNNING',
        webUi: link,
      });
      return;
    }
    if (!out.json) console.log(`started ${handle.workflowId}\nWeb UI: ${link}`);
    await follow(handle, out, linkOf);
  } finally {
    await client.connection.close();
  }
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  main(argv).catch((err) => {
    const reason = (
      err instanceof WorkflowFailedError ? `run failed: ${innermostMessage(err)}` : innermostMessage(err)
    ).split('\n')[0];
    if (argv.includes('--json')) console.log(JSON.stringify({ status: 'FAILED', error: reason }));
    console.error(`error: ${reason}`);
    process.exit(1);
  });
}
