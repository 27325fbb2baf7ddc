import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { sniffFormat } from '../imaging/open-source.js';
import { readIfds } from '../imaging/tiff/ifd.js';
import { createS3Client, type S3ClientOptions } from '../storage/s3-storage.js';
import { isS3Url, parseS3Url, type S3Location } from '../storage/s3-location.js';
import { sha256File } from './convert.js';
import { ACCESS_POLICY, COLLECTION_DESCRIPTION, ignoreReason, type FolderReader, type IgnoredFile, type ScannedFile } from './scan.js';
import { LOCAL_DERIVATIVES, LOCAL_MASTERS, type DerivativeStore, type MasterStore, type PageStores } from './stores.js';

/** The metadata a derivative object carries: the master's checksum it was made from, and its own. */
export const MASTER_SHA256_KEY = 'vitrine-master-sha256';
export const SHA256_KEY = 'vitrine-sha256';

/** The first bytes of a master read at once when counting its pages: a TIFF's first directory is almost always in them. */
const HEAD_BYTES = 64 * 1024;

/** Sidecars read beside the masters: copied from S3 into a local folder as the walk meets them (they are small). */
const SIDECARS = new Set(['metadata sidecar', COLLECTION_DESCRIPTION, ACCESS_POLICY]);

const objectUrl = (location: S3Location, key: string): string => `s3://${location.bucket}/${key}`;

/** An S3 failure in one line naming the object, never a credential; a missing object reads as ENOENT (that page's failure). */
function s3Failure(error: unknown, url: string): Error {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = error instanceof Error ? error.name : 'Error';
  if (name === 'NoSuchKey' || status === 404) return Object.assign(new Error(`${url}: no such object`), { code: 'ENOENT' });
  if (name === 'NoSuchBucket') return new Error(`${url}: the bucket does not exist`);
  if (status === 403) return new Error(`${url}: S3 refused access (${name}); check the credentials and the bucket policy`);
  if (status !== undefined) return new Error(`${url}: S3 answered ${status} ${name}`);
  return new Error(`${url}: S3 is unreachable (${(error as { code?: string }).code ?? name})`);
}

/** Masters under an S3 prefix: listed a "folder" at a time (delimiter '/'), each page's master downloaded when it is converted. */
function s3Masters(client: S3Client, location: S3Location, tempDir: string, sidecarRoot: string): MasterStore {
  // Written beside its name, then renamed: another lane reading the same sidecar never sees half of it.
  const download = async (key: string, file: string): Promise<void> => {
    await mkdir(path.dirname(file), { recursive: true });
    const part = `${file}.${randomUUID().slice(0, 8)}.part`;
    try {
      const answer = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: key }));
      await pipeline(answer.Body as Readable, createWriteStream(part));
      await rename(part, file);
    } finally {
      await rm(part, { force: true });
    }
  };
  const keyOf = (absolutePath: string): string => parseS3Url(absolutePath).prefix.replace(/\/$/, '');
  const readFolder: FolderReader = async (_root, relative) => {
    const prefix = `${location.prefix}${relative ? `${relative}/` : ''}`;
    const masters: ScannedFile[] = [];
    const ignored: IgnoredFile[] = [];
    const subfolders: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
      } catch (error) {
        throw s3Failure(error, objectUrl(location, prefix));
      }
      for (const common of page.CommonPrefixes ?? []) {
        const name = common.Prefix!.slice(prefix.length).replace(/\/$/, '');
        if (!name) continue;
        const relativePath = relative ? `${relative}/${name}` : name;
        if (name.startsWith('.')) ignored.push({ relativePath: `${relativePath}/`, reason: 'hidden folder' });
        else subfolders.push(name);
      }
      for (const object of page.Contents ?? []) {
        const name = object.Key!.slice(prefix.length);
        // A "folder marker" (an empty object named like the prefix) is no file.
        if (!name || name.endsWith('/')) continue;
        const relativePath = relative ? `${relative}/${name}` : name;
        const reason = ignoreReason(name);
        if (reason && SIDECARS.has(reason)) {
          // An access policy that could not be copied must not read as none, nor as an older copy
          // (a worker reads a folder again and again): its reader then finds no file and restricts the folder.
          const copy = path.join(sidecarRoot, ...relativePath.split('/'));
          await download(object.Key!, copy).catch(() => rm(copy, { force: true }));
        }
        if (reason) ignored.push({ relativePath, reason });
        else masters.push({ relativePath, absolutePath: objectUrl(location, object.Key!), size: object.Size ?? 0, mtimeMs: object.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    masters.sort((a, b) => byName(a.relativePath, b.relativePath));
    subfolders.sort(byName);
    return { folder: { folder: relative || '.', masters, ignored }, subfolders };
  };

  async function range(url: string, start: number, length: number): Promise<Buffer> {
    try {
      const answer = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: keyOf(url), Range: `bytes=${start}-${start + length - 1}` }));
      return Buffer.from((await answer.Body?.transformToByteArray()) ?? []);
    } catch (error) {
      throw s3Failure(error, url);
    }
  }

  return {
    readFolder,
    sidecarRoot,
    // One key under the folder's prefix is enough (a folder in S3 is the prefix of its objects).
    // ListObjects (v1): every S3 store answers it, and a truncated answer needs no continuation
    // token (s3rver makes its v2 tokens with DES, which OpenSSL 3 refuses: a 500 when MaxKeys cuts).
    hasFolder: async (relative) => {
      const prefix = `${location.prefix}${relative === '.' || relative === '' ? '' : `${relative}/`}`;
      try {
        const page = await client.send(new ListObjectsCommand({ Bucket: location.bucket, Prefix: prefix, MaxKeys: 1 }));
        return (page.Contents?.length ?? 0) > 0;
      } catch (error) {
        throw s3Failure(error, objectUrl(location, prefix));
      }
    },
    // The header by ranged reads (the first 64 KiB at once): a multi-page TIFF is several pages
    // without downloading it. Anything unreadable counts as one page, as for files.
    countPages: async (file) => {
      try {
        const head = await range(file.absolutePath, 0, Math.min(HEAD_BYTES, file.size));
        if (sniffFormat(head.subarray(0, 16)) !== 'tiff') return [0];
        const ifds = await readIfds({
          size: file.size,
          read: async (offset, length) => {
            const bytes = offset + length <= head.length ? head.subarray(offset, offset + length) : await range(file.absolutePath, offset, length);
            if (bytes.length !== length) throw new Error(`short read at ${offset}`);
            return bytes;
          },
        });
        const pages = ifds.flatMap((ifd, index) => ((ifd.subfileType & 1) === 0 ? [index] : []));
        return pages.length > 0 ? pages : [0];
      } catch {
        return [0];
      }
    },
    // One temporary file per page in flight (the pool bounds them), removed once the page is done.
    local: async (source) => {
      await mkdir(tempDir, { recursive: true });
      const file = path.join(tempDir, `${process.pid}-${randomUUID()}.master${path.posix.extname(source.absolutePath)}`);
      try {
        await download(keyOf(source.absolutePath), file);
      } catch (error) {
        await rm(file, { force: true });
        throw error instanceof Error && (error as NodeJS.ErrnoException).code?.startsWith('E') ? error : s3Failure(error, source.absolutePath);
      }
      return { path: file, release: () => rm(file, { force: true }) };
    },
  };
}

/**
 * Derivatives under an S3 prefix, at `<prefix>/<identifier>.tif` (or .jp2): what `vitrine serve
 * --images s3://…` serves under the same identifiers. Each is written locally, then uploaded by
 * lib-storage (multipart for large files, one PUT for small ones): S3 shows an object only once
 * its upload completes, so a killed run leaves no half object. Each carries its master's checksum.
 */
function s3Derivatives(client: S3Client, location: S3Location): DerivativeStore {
  const keyOf = (derivativePath: string): string => parseS3Url(derivativePath).prefix.replace(/\/$/, '');
  return {
    there: async (derivativePath, masterSha256) => {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: location.bucket, Key: keyOf(derivativePath) }));
        return head.Metadata?.[MASTER_SHA256_KEY] === masterSha256;
      } catch (error) {
        const failure = s3Failure(error, derivativePath);
        if ((failure as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw failure;
      }
    },
    staging: (derivativePath, tempDir) => path.join(tempDir, 'upload', ...keyOf(derivativePath).split('/')),
    publish: async (staging, derivativePath, masterSha256) => {
      const upload = new Upload({
        client,
        params: {
          Bucket: location.bucket,
          Key: keyOf(derivativePath),
          Body: createReadStream(staging),
          ContentType: derivativePath.endsWith('.jp2') ? 'image/jp2' : 'image/tiff',
          Metadata: { [MASTER_SHA256_KEY]: masterSha256, [SHA256_KEY]: await sha256File(staging) },
        },
        queueSize: 2,
        partSize: 8 * 1024 * 1024,
        // A failed multipart upload is aborted: no parts are left behind in the bucket.
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (error) {
        throw s3Failure(error, derivativePath);
      } finally {
        await rm(staging, { force: true });
      }
    },
    // Deleting a key that is not there succeeds: nothing to look up first.
    remove: async (derivativePath) => {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: location.bucket, Key: keyOf(derivativePath) }));
      } catch (error) {
        throw s3Failure(error, derivativePath);
      }
    },
  };
}

/** The stores of a conversion from `masters` into `out`, each a folder or an s3:// prefix. */
export function openPageStores(
  masters: string,
  out: string,
  options: S3ClientOptions & { readonly tempDir: string; /** Where the sidecars read in S3 are copied (default: a folder of the system's tmp). */ readonly sidecarDir?: string | undefined },
): PageStores {
  if (!isS3Url(masters) && !isS3Url(out)) return { masters: LOCAL_MASTERS, derivatives: LOCAL_DERIVATIVES, close: () => undefined };
  const client = createS3Client(options);
  // Outside the data folder by default: a dry run writes nothing there.
  const sidecarRoot = options.sidecarDir ?? path.join(tmpdir(), `vitrine-sidecars-${process.pid}-${randomUUID().slice(0, 8)}`);
  return {
    masters: isS3Url(masters) ? s3Masters(client, parseS3Url(masters), path.join(options.tempDir, 'masters'), sidecarRoot) : LOCAL_MASTERS,
    derivatives: isS3Url(out) ? s3Derivatives(client, parseS3Url(out)) : LOCAL_DERIVATIVES,
    close: () => {
      client.destroy();
      rmSync(sidecarRoot, { recursive: true, force: true });
    },
  };
}
