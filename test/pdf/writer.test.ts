import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { PdfWriter, type PdfPage } from '../../src/pdf/writer.js';

/** A page of noise (JPEG compresses it poorly: ~100 KB), so that a few pages overfill any buffer. */
async function noisyPage(): Promise<PdfPage> {
  const size = { width: 400, height: 400 };
  const jpeg = await sharp({ create: { ...size, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).jpeg({ quality: 90 }).toBuffer();
  return { jpeg, size, lines: [{ text: 'a line', box: { x: 10, y: 10, w: 200, h: 20 } }], canvas: size };
}

const settled = async (promise: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await sleep(50);
  return done;
};

describe('PdfWriter: backpressure, so memory holds about one page whatever the reader does', () => {
  it('waits before the next page while the reader has not read, and goes on when it does', async () => {
    const page = await noisyPage();
    assert.ok(page.jpeg.length > 50_000, `page JPEG ${page.jpeg.length} bytes`);
    const out = new PassThrough({ highWaterMark: 16 * 1024 });
    const writer = new PdfWriter(out, { title: 't', modified: new Date(0) });
    // Nobody reads: the first page overfills the stream and addPage waits.
    const first = writer.addPage(page);
    assert.equal(await settled(first), false, 'addPage returned while the reader had read nothing');
    // (A PassThrough counts a chunk on both sides until it is read: the same bytes, once in memory.)
    const held = Math.max(out.writableLength, out.readableLength);
    assert.ok(held < 1.5 * page.jpeg.length, `${held} bytes held for one page of ${page.jpeg.length}`);
    // The reader starts: every page goes through, and the buffers never hold much more than a page.
    let most = 0;
    let bytes = 0;
    out.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      most = Math.max(most, out.readableLength, out.writableLength);
    });
    await first;
    for (let i = 0; i < 20; i++) await writer.addPage(page);
    await writer.end();
    assert.ok(bytes > 21 * page.jpeg.length, `${bytes} bytes for 21 pages`);
    assert.ok(most < 1.5 * page.jpeg.length, `buffers held up to ${most} bytes`);
  });

  it('stops with an error when the reader goes away, instead of building the rest', async () => {
    const page = await noisyPage();
    const out = new PassThrough({ highWaterMark: 16 * 1024 });
    const writer = new PdfWriter(out, { title: 't', modified: new Date(0) });
    const waiting = writer.addPage(page);
    out.destroy();
    await assert.rejects(waiting, /went away/);
    await assert.rejects(writer.addPage(page), /went away/);
  });
});
