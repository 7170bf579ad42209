import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import sharp from 'sharp';
import { extensionOf, formatOf, IMAGE_FORMATS, type ImageFormat } from '../common/formats';
import type { UploadSource } from '../common/types';
import type { BlobStore } from './blob-store';
import { processAlbum, processPhoto, progressQuery } from '../../workflows';
import type { AlbumInput } from '../common/album';
import { labelledStart } from '../common/run-labels';
import { TASK_QUEUES } from '../common/task-queues';
import type { ProcessPhotoInput, ProcessPhotoResult, Progress } from '../common/workflow-io';

export type PhotoHandle = WorkflowHandle<typeof processPhoto>;

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Puts a local photo's bytes into the shared blob store, for a run whose workers share no disk with this machine.
 * The extension is a guess from the header (the upload service decides from the content again and refuses what is
 * not an image); content addressing makes a second put of the same photo free.
 */
export async function putPhotoFile(store: BlobStore, file: string): Promise<UploadSource> {
  return putPhotoBytes(store, await readFile(file));
}

/** A photo's bytes, as they arrived (a file, an upload through the web app), into the blob store. */
export async function putPhotoBytes(store: BlobStore, data: Buffer): Promise<{ blob: string }> {
  const format = formatOf(
    await sharp(data)
      .metadata()
      .catch(() => ({})),
  );
  const known = IMAGE_FORMATS.find((f) => f === format);
  const { key } = await store.put(data, known ? extensionOf(known as ImageFormat) : 'bin');
  return { blob: key };
}

/**
 * `photo-<content hash prefix>-<random>`: findable by content, unique per run. URLs are hashed by their text; a
 * blob's key is its content hash already.
 */
export async function photoWorkflowId(input: ProcessPhotoInput): Promise<string> {
  const source = input.source;
  const digest =
    'path' in source
      ? await hashFile(source.path)
      : 'blob' in source
        ? source.blob
        : createHash('sha256').update(source.url).digest('hex');
  return `photo-${digest.slice(0, 12)}-${randomBytes(3).toString('hex')}`;
}

export async function startPhotoRun(
  client: Client,
  input: ProcessPhotoInput,
  workflowId?: string,
): Promise<PhotoHandle> {
  return client.workflow.start(processPhoto, {
    taskQueue: TASK_QUEUES.workflow,
    workflowId: workflowId ?? (await photoWorkflowId(input)),
    args: [input],
    // The run's title and search attributes come with the start request, where they cost the run no history event.
    ...labelledStart(input),
  });
}

/** An album: one processAlbum run (`album-<random>`), whose photos run as its children. */
export async function startAlbumRun(client: Client, input: AlbumInput): Promise<WorkflowHandle<typeof processAlbum>> {
  return client.workflow.start(processAlbum, {
    taskQueue: TASK_QUEUES.workflow,
    workflowId: `album-${randomBytes(6).toString('hex')}`,
    args: [input],
  });
}

export function webUiLink(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export function describeProgress(p: Progress): string {
  const artifact = p.currentArtifact ? ` (${p.currentArtifact.width}x${p.currentArtifact.height})` : '';
  return `[${p.stepsDone}/${p.stepsTotal}] ${p.stage}: ${p.step}${artifact}`;
}

/**
 * Waits for the result while reporting each change of the `progress` query. Polling a query costs one round trip
 * and no history events, so watching never slows the run down or grows its history.
 */
export async function watchRun(
  handle: PhotoHandle,
  onProgress: (p: Progress) => void,
  everyMs = 300,
): Promise<ProcessPhotoResult> {
  let last = '';
  let settled = false;
  const result = handle.result().finally(() => (settled = true));
  const poll = async () => {
    while (!settled) {
      try {
        const progress = await handle.query(progressQuery);
        const line = describeProgress(progress);
        if (line !== last) onProgress(progress);
        last = line;
      } catch {
        // No workflow worker has picked the run up yet, or it just closed: keep waiting on the result.
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  const [outcome] = await Promise.allSettled([result, poll()]);
  if (outcome.status === 'rejected') throw outcome.reason;
  return outcome.value;
}

export function describeResult(result: ProcessPhotoResult): string {
  const lines = [
    `original: ${result.original.width}x${result.original.height} ${result.original.format} (${result.original.key})`,
    `output:   ${result.output.width}x${result.output.height} ${result.output.format}, ${result.output.bytes} bytes (${result.output.key})`,
  ];
  for (const share of result.shares)
    lines.push(`shared:   ${share.target} → ${share.location}${share.duplicate ? ' (already there)' : ''}`);
  return lines.join('\n');
}
