import { Client, Connection, type DataConverter } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

export interface ConnectionSettings {
  address: string;
  namespace: string;
  /** TLS and API key settings as Temporal's env config resolved them (TEMPORAL_TLS*, TEMPORAL_API_KEY, profiles). */
  options: Omit<NativeConnectionOptions, 'address'>;
}

/**
 * Connection settings the way every Temporal tool reads them: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE and the temporal.toml config file; the local dev server otherwise.
 */
export function loadConnectionSettings(env: NodeJS.ProcessEnv): ConnectionSettings {
  const overrideEnvVars = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const { connectionOptions, namespace } = loadClientConnectConfig({ profile: env.TEMPORAL_PROFILE, overrideEnvVars });
  const { address, ...options } = connectionOptions;
  return {
    address: address ?? DEFAULT_ADDRESS,
    namespace: namespace ?? DEFAULT_NAMESPACE,
    options: options as ConnectionSettings['options'],
  };
}

/** A client; `dataConverter` carries the payload codec when encryption is on (dataConverterFor). */
export async function connectClient(settings: ConnectionSettings, dataConverter?: DataConverter): Promise<Client> {
  const connection = await Connection.connect({ address: settings.address, ...settings.options });
  return new Client({ connection, namespace: settings.namespace, dataConverter });
}

/** True when a Temporal frontend answers at the address within the timeout. */
export async function serverAnswers(address: string, timeoutMs = 1500): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}
