import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { paths } from '../lib/paths';
import { executablesIn, say } from './executables';

export type ServerKind = 'dev-server' | 'time-skipping';
const LABELS: Record<ServerKind, string> = {
  'dev-server': 'Temporal CLI (dev server)',
  'time-skipping': 'time-skipping test server',
};

/**
 * The SDK's own cached download of a server (works where its download site is reachable). The SDK only downloads
 * when it starts a server, so start one briefly and keep the file it left in our folder.
 */
export async function sdkDownloadedServer(kind: ServerKind): Promise<string | undefined> {
  const downloadDir = path.join(paths.sdkDownloadDir, kind);
  const cached = executablesIn(downloadDir)[0];
  if (cached) return cached;
  say(`Trying the Temporal SDK's download of the ${LABELS[kind]}...`);
  const executable = { type: 'cached-download' as const, downloadDir };
  try {
    const env =
      kind === 'dev-server'
        ? await TestWorkflowEnvironment.createLocal({ server: { executable, ip: '127.0.0.1' } })
        : await TestWorkflowEnvironment.createTimeSkipping({ server: { executable } });
    await env.teardown();
  } catch (err) {
    const reason = /failed to download[^:]*/.exec((err as Error).message)?.[0] ?? (err as Error).message;
    say(`The SDK's download did not work here (${reason}); trying the next source.`);
    return undefined;
  }
  return executablesIn(downloadDir)[0];
}
