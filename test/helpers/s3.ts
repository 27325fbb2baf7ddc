import type { IncomingMessage } from 'node:http';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { tempDir } from './server.js';

/** s3rver's fixed credentials; the server and the clients (Vitrine's included) read them from the SDK's chain. */
export const S3_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

export interface RunningS3 {
  /** The store's URL, e.g. http://127.0.0.1:40123, for --s3-endpoint. */
  readonly endpoint: string;
  readonly bucket: string;
  /** Every request the store received, as 'METHOD /path?query', in order (what clients asked of it). */
  readonly requests: readonly string[];
  /** Uploads a file (or bytes) as `key`, through the AWS SDK. */
  put(key: string, body: string | Buffer): Promise<void>;
  remove(key: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts s3rver (an S3-protocol server) on loopback, on a free port, storing in a temporary folder,
 * with one bucket; sets the SDK's credential environment variables for this process.
 */
export async function startS3(bucket = 'images'): Promise<RunningS3> {
  Object.assign(process.env, S3_CREDENTIALS);
  const { dir, cleanup } = await tempDir('vitrine-s3rver-');
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = (await server.run()) as AddressInfo;
  const endpoint = `http://127.0.0.1:${address.port}`;
  const requests: string[] = [];
  server.httpServer.on('request', (request: IncomingMessage) => requests.push(`${request.method} ${request.url}`));
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true });
  return {
    endpoint,
    bucket,
    requests,
    async put(key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: typeof body === 'string' ? await readFile(body) : body }));
    },
    async remove(key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async close() {
      client.destroy();
      await server.close();
      await cleanup();
    },
  };
}

/** Every key under a prefix, sorted (all pages of the listing). */
export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** An object's bytes. */
export async function objectBytes(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  return Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
}

/** Every object under the prefix is whole: its bytes hash to the checksum Vitrine stamps when its upload begins. Returns the keys. */
export async function assertWhole(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys = await listKeys(client, bucket, prefix);
  for (const key of keys) {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(head.Metadata?.['vitrine-sha256'], createHash('sha256').update(await objectBytes(client, bucket, key)).digest('hex'), `${key} is whole`);
  }
  return keys;
}
