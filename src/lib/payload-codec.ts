import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/**
 * Opt-in encryption of everything the project's processes put into Temporal (workflow input such as titles, paths
 * and URLs, results, memos, failures' details): the server's database then holds only ciphertext. AES-256-GCM, a
 * fresh 12-byte nonce per payload; each encrypted payload names the key it was encrypted with, so keys can rotate:
 * new payloads use the first key, older ones are still read with the keys listed after it.
 */

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface CodecKeys {
  /** Encrypts new payloads. */
  current: string;
  /** Every key by id, the current one included: decrypts payloads written with any of them. */
  keys: Map<string, Buffer>;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** `id:base64key,id:base64key,...` (first one current) as NANO_PHOTOS_CODEC_KEYS gives it; throws naming `setting`. */
export function parseCodecKeys(setting: string, raw: string): CodecKeys {
  const keys = new Map<string, Buffer>();
  for (const item of raw.split(',').map((s) => s.trim())) {
    const [id, encoded, extra] = item.split(':');
    const key = Buffer.from(encoded ?? '', 'base64');
    if (!KEY_ID.test(id ?? '') || extra !== undefined || key.length !== 32 || keys.has(id)) {
      throw new Error(
        `${setting}: expected comma-separated, distinct <key id>:<32 random bytes in base64> entries (make one with ` +
          `\`openssl rand -base64 32\`), the first one encrypting; received an entry ${JSON.stringify(id ?? item)}...`,
      );
    }
    keys.set(id, key);
  }
  return { current: [...keys.keys()][0], keys };
}

export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly codecKeys: CodecKeys) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { current, keys } = this.codecKeys;
    const key = keys.get(current)!;
    return payloads.map((payload) => {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const sealed = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          encoding: Buffer.from(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: Buffer.from(current),
        },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.encoding ?? []).toString() !== ENCRYPTED_ENCODING) return payload;
      const id = Buffer.from(payload.metadata?.[KEY_ID_METADATA] ?? []).toString();
      const key = this.codecKeys.keys.get(id);
      if (!key) {
        throw new Error(
          `a payload was encrypted with key ${JSON.stringify(id)}, which NANO_PHOTOS_CODEC_KEYS does not list ` +
            `(it lists ${[...this.codecKeys.keys.keys()].join(', ')})`,
        );
      }
      const sealed = Buffer.from(payload.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(), // throws if the payload was altered or the key is wrong
      ]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

/**
 * What workers and clients pass as `dataConverter`: the codec when keys are configured, else Temporal's default.
 * Failure messages and stack traces name paths and URLs too: with encryption on they travel encoded as well.
 */
export function dataConverterFor(keys: CodecKeys | undefined): DataConverter | undefined {
  if (!keys) return undefined;
  return { payloadCodecs: [new AesGcmCodec(keys)], failureConverterPath: ENCRYPTED_FAILURES };
}

/** The module a worker bundles into its workflow code when encryption is on (also for prebuilt bundles). */
export const ENCRYPTED_FAILURES = require.resolve('./failure-converter');
