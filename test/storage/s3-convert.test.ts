import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { CLI, vitrine } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { decode, fetchBytes } from '../helpers/pixels.js';
import { startS3, type RunningS3 } from '../helpers/s3.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';

/**
 * `vitrine convert` from masters in S3 into derivatives in S3 (s3rver on loopback), the catalog in a
 * local --data folder; `vitrine serve --images s3://… --data DIR` serves them as the same masters
 * converted locally; a re-run uploads nothing; a run killed with SIGKILL leaves no half object.
 */

/** The masters of the test: an object of two pages (TIFF, PNG) and one of one (JPEG). */
const MASTERS: [string, () => Promise<Buffer>][] = [
  ['letters/let-001.tif', () => pagePicture(1, 600, 400).tiff({ compression: 'lzw' }).toBuffer()],
  ['letters/let-002.png', () => pagePicture(2, 600, 400).png().toBuffer()],
  ['maps/map-1.jpg', () => pagePicture(3, 500, 350).jpeg({ quality: 92 }).toBuffer()],
];

interface Listed {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly modified: number;
}

describe('vitrine convert with masters and derivatives in S3', () => {
  let s3: RunningS3;
  let client: S3Client;
  let dir: string;
  let cleanup: () => Promise<void>;
  let servers: RunningServer[] = [];

  const list = async (prefix: string): Promise<Listed[]> => {
    const answer = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
    return (answer.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size!, etag: o.ETag!, modified: o.LastModified!.getTime() })).sort((a, b) => (a.key < b.key ? -1 : 1));
  };
  const bytesOf = async (key: string): Promise<Buffer> => Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray());
  const convert = (...args: string[]): ReturnType<typeof vitrine> => vitrine('convert', ...args, '--s3-endpoint', s3.endpoint, '--workers', '2');

  before(async () => {
    ({ dir, cleanup } = await tempDir('vitrine-s3-convert-'));
    s3 = await startS3('vitrine');
    client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true });
    const local = path.join(dir, 'masters');
    for (const [name, make] of MASTERS) {
      const bytes = await make();
      await s3.put(`masters/${name}`, bytes);
      await mkdir(path.dirname(path.join(local, name)), { recursive: true });
      await writeFile(path.join(local, name), bytes);
    }
  });
  after(async () => {
    for (const server of servers) await server.close();
    client?.destroy();
    await s3?.close();
    await cleanup?.();
  });

  it('converts S3 → S3, records the catalog locally, and serves the same manifests and pixels as a local conversion', async () => {
    const data = path.join(dir, 'data');
    // The same masters converted locally, as the reference (at the same time).
    const localOut = path.join(dir, 'local-out');
    const [run, reference] = await Promise.all([
      convert(`s3://${s3.bucket}/masters`, '--out', `s3://${s3.bucket}/derivatives`, '--data', data),
      vitrine('convert', path.join(dir, 'masters'), '--out', localOut, '--workers', '2'),
    ]);
    assert.equal(reference.code, 0, reference.stderr);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /converted 3, skipped 0 \(unchanged\), failed 0, ignored 0 files — 3 pages in 2 objects/);
    assert.doesNotMatch(run.stderr, /S3RVER/, 'no credential in the output');
    // The derivatives under the prefix, named by identifier, each stamped with its master's checksum; nothing left in the local temporary folder.
    const derivatives = await list('derivatives/');
    assert.deepEqual(derivatives.map((d) => d.key), ['derivatives/letters/let-001.tif', 'derivatives/letters/let-002.tif', 'derivatives/maps/map-1.tif']);
    const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'derivatives/letters/let-001.tif' }));
    const master = await bytesOf('masters/letters/let-001.tif');
    assert.equal(head.Metadata?.['vitrine-master-sha256'], createHash('sha256').update(master).digest('hex'));
    assert.equal(head.Metadata?.['vitrine-sha256'], createHash('sha256').update(await bytesOf('derivatives/letters/let-001.tif')).digest('hex'));
    assert.deepEqual(await readdir(path.join(data, '.tmp'), { recursive: true }).then((entries) => entries.filter((e) => /\.(tif|png|jpg|jp2)$/.test(e))), []);


    const remote = await startServer(undefined, { images: `s3://${s3.bucket}/derivatives`, data, s3Endpoint: s3.endpoint, cacheDir: path.join(dir, 'cache') });
    const local = await startServer(undefined, { data: localOut });
    servers = [remote, local];
    const manifest = (await (await fetch(`${remote.url}/iiif/manifest/letters`)).json()) as { items: { width: number; height: number }[] };
    assert.deepEqual(manifest.items.map((c) => [c.width, c.height]), [[600, 400], [600, 400]]);
    const top = await (await fetch(`${remote.url}/iiif/collection/top`)).text();
    assert.match(top, /manifest\/maps/);
    for (const tile of ['letters%2Flet-001/0,0,256,256/256,/0/default.jpg', 'maps%2Fmap-1/256,256,244,94/244,/0/default.jpg', 'letters%2Flet-002/full/300,/0/default.png']) {
      const [fromS3, fromDisk] = await Promise.all([fetchBytes(`${remote.url}/iiif/3/${tile}`), fetchBytes(`${local.url}/iiif/3/${tile}`)]);
      const [a, b] = await Promise.all([decode(fromS3.body), decode(fromDisk.body)]);
      assert.equal(a.width, b.width);
      assert.ok(a.data.equals(b.data), `${tile}: the S3 conversion's pixels are the local conversion's`);
    }

    // A re-run uploads nothing: every object keeps its ETag and time.
    const again = await convert(`s3://${s3.bucket}/masters`, '--out', `s3://${s3.bucket}/derivatives`, '--data', data);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /converted 0, skipped 3 \(unchanged\)/);
    assert.deepEqual(await list('derivatives/'), derivatives);

    // A derivative deleted from the bucket is made again, and only that one.
    await s3.remove('derivatives/maps/map-1.tif');
    const repaired = await convert(`s3://${s3.bucket}/masters`, '--out', `s3://${s3.bucket}/derivatives`, '--data', data);
    assert.match(repaired.stderr, /converted 1, skipped 2 \(unchanged\)/);
    assert.deepEqual((await list('derivatives/')).map((d) => d.key), derivatives.map((d) => d.key));
  });

  it('mixes S3 and local folders: masters in S3 into a local output, local masters into S3', async () => {
    const out = path.join(dir, 'from-s3');
    const [fromS3, toS3] = await Promise.all([
      convert(`s3://${s3.bucket}/masters`, '--out', out),
      convert(path.join(dir, 'masters'), '--out', `s3://${s3.bucket}/mixed`, '--data', path.join(dir, 'mixed-data')),
    ]);
    assert.equal(fromS3.code, 0, fromS3.stderr);
    assert.deepEqual((await readdir(path.join(out, 'images'), { recursive: true })).filter((e) => e.endsWith('.tif')).sort(), ['letters/let-001.tif', 'letters/let-002.tif', 'maps/map-1.tif']);
    assert.equal(toS3.code, 0, toS3.stderr);
    assert.equal((await list('mixed/')).length, 3);
    // The local derivative of a page and the one uploaded from the same master are the same bytes.
    assert.ok((await bytesOf('mixed/maps/map-1.tif')).equals(await readFile(path.join(out, 'images', 'maps', 'map-1.tif'))));
    // A change of format replaces each page's object: the other format's is deleted once the new one is recorded.
    const jp2 = await convert(path.join(dir, 'masters'), '--out', `s3://${s3.bucket}/mixed`, '--data', path.join(dir, 'mixed-data'), '--format', 'jp2');
    assert.equal(jp2.code, 0, jp2.stderr);
    assert.deepEqual((await list('mixed/')).map((o) => o.key), ['mixed/letters/let-001.jp2', 'mixed/letters/let-002.jp2', 'mixed/maps/map-1.jp2']);
  });

  it('uploads a derivative larger than one 8 MiB part in several parts, whole: the bytes of the same master converted locally', async () => {
    // Noise compresses badly: this page's derivative is well above the 8 MiB part size.
    const master = await sharp({ create: { width: 3600, height: 3000, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
      .tiff({ compression: 'lzw' })
      .toBuffer();
    const local = path.join(dir, 'large-masters', 'big');
    await mkdir(local, { recursive: true });
    await writeFile(path.join(local, 'big-001.tif'), master);
    const [toS3, toDisk] = await Promise.all([
      convert(path.join(dir, 'large-masters'), '--out', `s3://${s3.bucket}/large`, '--data', path.join(dir, 'large-data')),
      vitrine('convert', path.join(dir, 'large-masters'), '--out', path.join(dir, 'large-local'), '--workers', '2'),
    ]);
    assert.equal(toS3.code, 0, toS3.stderr);
    assert.equal(toDisk.code, 0, toDisk.stderr);
    const [object] = await list('large/');
    assert.equal(object?.key, 'large/big/big-001.tif');
    assert.ok(object.size > 8 * 2 ** 20, `the derivative is ${object.size} bytes: not above one part`);
    // What the store was asked: one multipart upload of this key, in one part per 8 MiB, completed once.
    const asked = s3.requests.filter((r) => r.includes('/large/big/big-001.tif'));
    assert.equal(asked.filter((r) => /^POST .*\?uploads/.test(r)).length, 1, asked.join('\n'));
    assert.equal(asked.filter((r) => /^PUT .*[?&]partNumber=/.test(r)).length, Math.ceil(object.size / (8 * 2 ** 20)), asked.join('\n'));
    assert.equal(asked.filter((r) => /^POST .*[?&]uploadId=/.test(r)).length, 1, asked.join('\n'));
    assert.ok((await bytesOf(object.key)).equals(await readFile(path.join(dir, 'large-local', 'images', 'big', 'big-001.tif'))), 'the parts make the whole derivative');
    assert.deepEqual(await list('large/'), [object], 'no part or staging object left visible');
  });

  it("reads the sidecars in S3 (manifest.yml, access.yml), and the server over S3 keeps a restricted object's tiles closed", async () => {
    await s3.put('sidecars/letters/let-001.tif', await MASTERS[0]![1]());
    await s3.put('sidecars/letters/manifest.yml', Buffer.from('label: Letters from the bucket\n'));
    await s3.put('sidecars/secret/access.yml', Buffer.from('access: restricted\nprofile: login\n'));
    await s3.put('sidecars/secret/diary/d-001.jpg', await MASTERS[2]![1]());
    const data = path.join(dir, 'sidecars-data');
    const run = await convert(`s3://${s3.bucket}/sidecars`, '--out', `s3://${s3.bucket}/sidecars-out`, '--data', data);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /anomaly/);
    const server = await startServer(undefined, { images: `s3://${s3.bucket}/sidecars-out`, data, s3Endpoint: s3.endpoint, cacheDir: path.join(dir, 'sidecars-cache') });
    servers.push(server);
    const manifest = (await (await fetch(`${server.url}/iiif/manifest/letters`)).json()) as { label: Record<string, string[]> };
    assert.deepEqual(Object.values(manifest.label).flat(), ['Letters from the bucket']);
    assert.equal((await fetch(`${server.url}/iiif/3/letters%2Flet-001/0,0,256,256/256,/0/default.jpg`)).status, 200);
    // The gate runs for images in S3 too: the restricted page's tile and full image answer 401.
    assert.equal((await fetch(`${server.url}/iiif/3/secret%2Fdiary%2Fd-001/0,0,256,256/256,/0/default.jpg`)).status, 401);
    assert.equal((await fetch(`${server.url}/iiif/3/secret%2Fdiary%2Fd-001.tif/full/max/0/default.jpg`)).status, 401);
  });

  it('refuses an s3:// --out without --data, and a bad S3 URL, with a one-line reason (exit 2)', async () => {
    const [noData, bad] = await Promise.all([
      convert(`s3://${s3.bucket}/masters`, '--out', `s3://${s3.bucket}/x`),
      convert('s3://Bad_Bucket/masters', '--out', path.join(dir, 'never')),
    ]);
    assert.equal(noData.code, 2);
    assert.match(noData.stderr, /^vitrine: --data: an s3:\/\/ --out needs a local folder/);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^vitrine: masters: 'Bad_Bucket' is not a valid S3 bucket name/);
  });

  it('a run killed with SIGKILL mid-batch leaves no half object visible, and the next run finishes the batch', async () => {
    const count = 10;
    for (let n = 0; n < count; n++) await s3.put(`batch/book/p-${String(n + 1).padStart(3, '0')}.tif`, await pagePicture(n % 8, 300, 200).resize(1200, 800).tiff({ compression: 'none' }).toBuffer());
    const data = path.join(dir, 'batch-data');
    const args = [CLI, 'convert', `s3://${s3.bucket}/batch`, '--out', `s3://${s3.bucket}/batch-out`, '--data', data, '--s3-endpoint', s3.endpoint, '--workers', '1'];
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    let ended = false;
    const exited = new Promise((resolve) => child.once('exit', resolve)).then(() => (ended = true));
    // Killed once some derivatives are visible and before the last one.
    for (let seen = 0; seen < 3 && !ended; seen = (await list('batch-out/')).length) await new Promise((resolve) => setTimeout(resolve, 30));
    assert.ok(!ended, 'the run was still going when it was killed');
    child.kill('SIGKILL');
    await exited;
    const visible = await list('batch-out/');
    assert.ok(visible.length < count, `killed mid-batch (${visible.length} of ${count} visible)`);
    for (const object of visible) {
      const bytes = await bytesOf(object.key);
      const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: object.key }));
      assert.equal(head.Metadata?.['vitrine-sha256'], createHash('sha256').update(bytes).digest('hex'), `${object.key} is whole`);
      const meta = await sharp(bytes).metadata();
      assert.deepEqual([meta.width, meta.height], [1200, 800]);
    }
    const resumed = await convert(`s3://${s3.bucket}/batch`, '--out', `s3://${s3.bucket}/batch-out`, '--data', data);
    assert.equal(resumed.code, 0, resumed.stderr);
    const [, converted, skipped] = /converted (\d+), skipped (\d+)/.exec(resumed.stderr)!.map(Number);
    assert.equal(converted! + skipped!, count);
    assert.ok(skipped! >= visible.length - 1, `pages recorded before the kill are not converted again (${skipped} skipped, ${visible.length} visible)`);
    assert.equal((await list('batch-out/')).length, count);
  });
});
