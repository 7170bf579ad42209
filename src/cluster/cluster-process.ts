import { startChild, type Child, type ChildOptions } from '../lib/child-processes';

/**
 * One part of the cluster (PostgreSQL, the Temporal server, the Web UI). Its log outlives it, so the child writes
 * the file itself. It runs in its own process group: a Ctrl-C on `npm run cluster` reaches only the command, which
 * stops the parts in order (UI, server, then PostgreSQL) instead of all of them at once. Killed by pid if the
 * starting process exits without stopping it.
 */
export function startClusterProcess(
  o: Pick<ChildOptions, 'name' | 'command' | 'args' | 'env' | 'user'> & { logFile: string },
): Child {
  return startChild({ ...o, output: 'file', ownProcessGroup: true, killOnExit: true });
}
