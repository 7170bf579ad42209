import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type _Error as S3Error,
  type _Object,
} from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import type { S3Location, S3Settings } from './settings';
import { checkName, type ObjectInfo, type ObjectStore, type PutOptions } from './types';

/** S3's limit on the objects one DeleteObjects request may name. */
const DELETE_BATCH = 1000;

/** The failure type of a store that cannot work until someone fixes a setting: never retried. */
export const STORE_MISCONFIGURED = 'BlobStoreMisconfigured';

const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
  // versitygw's answer to an access key it does not know (AWS says InvalidAccessKeyId).
  'XAdminUserNotFound',
]);
const REGION_ERRORS = new Set([
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'IllegalLocationConstraintException',
]);

/**
 * One client per store. Connecting gives up after 5 s and a silent connection after 30 s, so a store that stops
 * answering fails the call (retryably) instead of hanging the activity; the SDK itself retries a few times first.
 * Checksums: the blob store sends each blob's sha256 (its key) for the service to verify the upload, and checks
 * what it reads itself, so the SDK's own CRC32s would only be computed twice.
 */
export function s3Client(s3: S3Settings): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    forcePathStyle: s3.forcePathStyle,
    region: s3.region,
    credentials: s3.credentials,
    requestHandler: { connectionTimeout: 5_000, socketTimeout: 30_000 },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The S3 driver: objects under a prefix of a bucket on any S3-compatible service. PUT is atomic on S3. */
export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly settings: S3Location) {
    this.client = s3Client(settings.s3);
    this.prefix = settings.prefix && !settings.prefix.endsWith('/') ? `${settings.prefix}/` : settings.prefix;
  }

  get location(): string {
    return `s3://${this.settings.bucket}/${this.prefix}`;
  }

  locationOf(name: string): string {
    return `${this.location}${checkName(name)}`;
  }

  private key(name: string): string {
    return `${this.prefix}${checkName(name)}`;
  }

  async get(name: string): Promise<Buffer | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.key(name) }));
      return await readBody(res.Body as Readable, res.ContentLength);
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey') return undefined;
      throw this.failure(err, 'get', name);
    }
  }

  async head(name: string): Promise<ObjectInfo | undefined> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.key(name) }));
      return {
        name,
        bytes: res.ContentLength ?? 0,
        version: res.ETag ?? '',
        modified: res.LastModified ?? new Date(0),
      };
    } catch (err) {
      // A HEAD answer has no body to name the error: 404 is a missing object (or bucket: the next write says which).
      if (httpStatusOf(err) === 404) return undefined;
      throw this.failure(err, 'head', name);
    }
  }

  async put(name: string, data: Buffer, options: PutOptions = {}): Promise<void> {
    const command = new PutObjectCommand({
      Bucket: this.settings.bucket,
      Key: this.key(name),
      Body: data,
      ContentLength: data.length,
      ContentType: options.contentType,
      ChecksumSHA256: options.sha256 ? Buffer.from(options.sha256, 'hex').toString('base64') : undefined,
    });
    if (options.sha256) signKnownHash(command, options.sha256);
    try {
      await this.client.send(command);
    } catch (err) {
      throw this.failure(err, 'put', name);
    }
  }

  async delete(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.key(name) }));
    } catch (err) {
      throw this.failure(err, 'delete', name);
    }
  }

  async list(prefix = '', suffix = ''): Promise<ObjectInfo[]> {
    return (await this.listing(prefix, '/')).filter((o) => o.name.endsWith(suffix));
  }

  listAll(prefix = ''): Promise<ObjectInfo[]> {
    return this.listing(prefix);
  }

  /**
   * S3 has no way to set a modified time, and a copy onto itself does not refresh it on every S3-compatible service
   * (versitygw keeps it): the bytes are written again.
   */
  async touch(name: string, data: Buffer, options?: PutOptions): Promise<void> {
    await this.put(name, data, options);
  }

  /** One DeleteObjects request per thousand objects, not a DELETE round trip each (a run's intermediates: four). */
  async deleteFolder(folder: string): Promise<ObjectInfo[]> {
    const removed = await this.listAll(`${checkName(folder)}/`);
    for (let start = 0; start < removed.length; start += DELETE_BATCH) {
      const batch = removed.slice(start, start + DELETE_BATCH);
      const request = { Objects: batch.map((o) => ({ Key: this.key(o.name) })), Quiet: true };
      let refused: S3Error[];
      try {
        const res = await this.client.send(new DeleteObjectsCommand({ Bucket: this.settings.bucket, Delete: request }));
        refused = res.Errors ?? [];
      } catch (err) {
        throw this.failure(err, 'delete', `${folder}/`);
      }
      // The request succeeds even when objects in it could not be deleted: each one refused is named in the answer.
      if (refused.length > 0) {
        const [first] = refused;
        const more = refused.length > 1 ? ` (and ${refused.length - 1} more objects)` : '';
        const cause = Object.assign(new Error(`${first.Message}${more}`), { name: first.Code });
        throw this.failure(cause, 'delete', first.Key?.slice(this.prefix.length) ?? `${folder}/`);
      }
    }
    return removed;
  }

  private async listing(prefix: string, delimiter?: string): Promise<ObjectInfo[]> {
    const infos: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.settings.bucket,
            Prefix: `${this.prefix}${prefix}`,
            Delimiter: delimiter,
            ContinuationToken: token,
          }),
        );
        infos.push(...(page.Contents ?? []).map((o: _Object) => this.info(o)));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.failure(err, 'list', prefix);
    }
    return infos.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Nothing to do: an interrupted PUT leaves nothing behind. */
  async sweep(): Promise<void> {}

  private info(o: _Object): ObjectInfo {
    return {
      name: o.Key!.slice(this.prefix.length),
      bytes: o.Size ?? 0,
      version: o.ETag ?? '',
      modified: o.LastModified ?? new Date(0),
    };
  }

  /**
   * Temporal retries plain errors: a 5xx, a throttle, a dropped or refused connection may pass. What will not pass
   * until someone changes a setting fails at once and says which setting.
   */
  private failure(err: unknown, operation: string, name: string): Error {
    const e = err as Error;
    const where = `${operation} ${this.location}${name}`;
    const fix = (why: string) =>
      ApplicationFailure.nonRetryable(`S3 ${where}: ${why} (${e.name}: ${e.message})`, STORE_MISCONFIGURED);
    const { setting } = this.settings;
    const endpoint = this.settings.s3.endpoint ?? 'AWS';
    if (e.name === 'NoSuchBucket')
      return fix(`bucket "${this.settings.bucket}" does not exist at ${endpoint}; fix ${setting} or create the bucket`);
    const credentials = 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in its environment';
    if (CREDENTIAL_ERRORS.has(e.name)) return fix(`${endpoint} refused this worker's credentials; fix ${credentials}`);
    if (REGION_ERRORS.has(e.name) || /region is missing/i.test(e.message))
      return fix(`wrong or missing region for bucket "${this.settings.bucket}"; set AWS_REGION`);
    // A HEAD's 403 cannot tell a wrong key from a missing permission: the message names both.
    if (e.name === 'AccessDenied' || httpStatusOf(err) === 403 || httpStatusOf(err) === 401)
      return fix(
        `access denied; check ${credentials} and that they may read and write ${this.location}, or fix ${setting}`,
      );
    return new Error(`S3 ${where} failed (will retry): ${e.name}: ${e.message}`, { cause: err });
  }
}

/** The HTTP status of the service's answer; undefined when no answer came (refused, reset, timed out). */
export function httpStatusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/**
 * A build step that gives the request signature the body's sha256 the caller already has: SigV4 signs a hash of
 * the payload, and without this header the SDK hashes every body a second time, about 6 ms of CPU per 8 MB
 * intermediate (BENCHMARKS.md). The service checks the body against it, as against ChecksumSHA256.
 */
function signKnownHash(command: PutObjectCommand, hex: string): void {
  command.middlewareStack.add(
    (next) => (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = hex;
      return next(args);
    },
    { step: 'build', name: 'knownPayloadHash' },
  );
}

/** Reads a response body into one buffer of the announced size; a body cut short is a transient failure. */
async function readBody(body: Readable, length: number | undefined): Promise<Buffer> {
  if (length === undefined) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  const data = Buffer.allocUnsafe(length);
  let offset = 0;
  for await (const chunk of body) {
    const part = chunk as Buffer;
    if (offset + part.length > length) throw new Error(`the response was longer than its ${length} bytes`);
    part.copy(data, offset);
    offset += part.length;
  }
  if (offset !== length) throw new Error(`the connection ended after ${offset} of ${length} bytes`);
  return data;
}
