import {
  CreateBucketCommand,
  ListBucketsCommand,
  type BucketLocationConstraint,
  type S3Client,
} from '@aws-sdk/client-s3';
import { httpStatusOf } from './s3-store';

/**
 * Waits until an S3 service answers at all. Any HTTP answer, a refusal included, proves it is up (what it refuses
 * is for the next request to report); a refused, reset or unresolvable connection is tried again until the deadline.
 * `check` runs before every try and may throw to stop waiting (a server process that died).
 */
export async function untilS3Answers(
  client: S3Client,
  where: string,
  timeoutMs: number,
  check: () => void = () => {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    check();
    const answered = await client.send(new ListBucketsCommand({})).then(
      () => true,
      (err) => httpStatusOf(err) !== undefined,
    );
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`no S3 service answered on ${where} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Creates a bucket unless it is there already (a second run, or another host's job). Outside us-east-1, AWS wants
 * the region named in the request too. A bucket that exists but is someone else's is not refused here: the store's
 * probe, which follows at every worker start, says so with the setting to fix.
 */
export async function createBucket(client: S3Client, bucket: string, region?: string): Promise<'created' | 'existed'> {
  const LocationConstraint = region && region !== 'us-east-1' ? (region as BucketLocationConstraint) : undefined;
  try {
    await client.send(
      new CreateBucketCommand({
        Bucket: bucket,
        CreateBucketConfiguration: LocationConstraint ? { LocationConstraint } : undefined,
      }),
    );
    return 'created';
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return 'existed';
    throw err;
  }
}
