import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { provisionVersitygw } from '../provision/versitygw';
import { createBucket, untilS3Answers } from './blob-store/s3-buckets';
import { s3Client } from './blob-store/s3-store';
import type { S3Location, S3Settings } from './blob-store/settings';
import { startChild, type Child } from './child-processes';
import { freePort } from './free-port';

export const DEFAULT_BUCKET = 'nano-photos';
/** versitygw answers in this region unless told otherwise; AWS_REGION must match for the signatures. */
const REGION = 'us-east-1';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3ServerOptions {
  /** The folder served; each bucket is a sub-folder of it. */
  dir: string;
  /** A free port on 127.0.0.1 when absent. */
  port?: number;
  /** Created if missing. */
  bucket?: string;
  /** Fresh random ones when absent. */
  credentials?: S3Credentials;
  /** A file descriptor for versitygw's own output; discarded when absent. */
  logFile?: number;
}

/**
 * versitygw's command line serving `dir` on `listen` (host:port); the credentials go in its environment, not its
 * command line, where any user of the machine could read them.
 */
export function versitygwCommand(
  listen: string,
  dir: string,
  credentials: S3Credentials,
): { args: string[]; env: Record<string, string> } {
  return {
    args: ['--port', listen, '--keep-alive', '--quiet', 'posix', dir],
    env: { ROOT_ACCESS_KEY_ID: credentials.accessKeyId, ROOT_SECRET_ACCESS_KEY: credentials.secretAccessKey },
  };
}

/**
 * A real S3-compatible server for local runs and tests: versitygw serving a folder on 127.0.0.1. Started and
 * stopped by process id; `stop()` then `start()` brings it back on the same port with the same data, as an outage
 * that ends would.
 */
export class S3Server {
  readonly endpoint: string;
  readonly bucket: string;
  readonly credentials: S3Credentials;
  private child?: Child;

  constructor(
    private readonly binary: string,
    readonly options: S3ServerOptions & { port: number },
  ) {
    this.endpoint = `http://127.0.0.1:${options.port}`;
    this.bucket = options.bucket ?? DEFAULT_BUCKET;
    this.credentials = options.credentials ?? {
      accessKeyId: `nano-photos-${randomBytes(4).toString('hex')}`,
      secretAccessKey: randomBytes(24).toString('base64url'),
    };
  }

  get pid(): number | undefined {
    return this.running() ? this.child?.pid : undefined;
  }

  running(): boolean {
    return this.child?.running() ?? false;
  }

  /** What a store in this process needs to reach the server. */
  s3Settings(): S3Settings {
    return { endpoint: this.endpoint, forcePathStyle: true, region: REGION, credentials: this.credentials };
  }

  /** A store location on this server: the bucket, under `prefix`. */
  location(prefix = ''): S3Location {
    return { driver: 's3', bucket: this.bucket, prefix, s3: this.s3Settings(), setting: 'NANO_PHOTOS_BLOB_URL' };
  }

  /** The environment a worker on this server needs: the blob store URL, the endpoint, the credentials. */
  env(): Record<string, string> {
    return {
      NANO_PHOTOS_BLOB_URL: `s3://${this.bucket}`,
      NANO_PHOTOS_S3_ENDPOINT: this.endpoint,
      AWS_ACCESS_KEY_ID: this.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.credentials.secretAccessKey,
      AWS_REGION: REGION,
    };
  }

  /** Starts versitygw and waits until it answers. */
  async start(): Promise<void> {
    if (this.running()) return;
    mkdirSync(this.options.dir, { recursive: true });
    const { args, env } = versitygwCommand(`127.0.0.1:${this.options.port}`, this.options.dir, this.credentials);
    const child = startChild({
      name: 'versitygw',
      command: this.binary,
      args,
      env: { ...process.env, ...env },
      output: this.options.logFile ?? 'ignore',
      stopGraceMs: 10_000,
    });
    this.child = child;
    const client = s3Client(this.s3Settings());
    try {
      await untilS3Answers(client, this.endpoint, 30_000, () => {
        if (!child.running())
          throw new Error(`versitygw exited (code ${child.process.exitCode}) before it answered on ${this.endpoint}`);
      });
      await createBucket(client, this.bucket);
    } catch (err) {
      await child.kill('SIGKILL');
      throw err;
    } finally {
      client.destroy();
    }
  }

  /** Settles when the server process has exited, whoever stopped it. */
  async whenExited(): Promise<void> {
    await this.child?.exited;
  }

  /** Stops the server by its process id and waits for it to exit (SIGKILL if it takes more than 10 s). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.child?.stop(undefined, signal);
  }
}
/** Provisions versitygw if needed, starts it and creates the bucket. */
export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  const binary = await provisionVersitygw();
  const server = new S3Server(binary, { ...options, port: options.port ?? (await freePort()) });
  await server.start();
  return server;
}
