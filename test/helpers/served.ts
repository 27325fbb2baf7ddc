import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decode, fetchBytes, meanAbsDiff } from './pixels.js';

const WIDTH = 350;

/** Asserts the server shows the master's picture for an identifier (the whole image at 350 px wide: resampling and JPEG differ by a few units; another picture by tens). */
export async function assertServesMaster(server: string, identifier: string, master: string): Promise<void> {
  const { body } = await fetchBytes(`${server}/iiif/3/${encodeURIComponent(identifier)}/full/${WIDTH},/0/default.png`);
  const got = await decode(body, 3);
  const want = await decode(sharp(master).resize(WIDTH), 3);
  const diff = meanAbsDiff(got, want);
  assert.ok(diff < 8, `${identifier}: mean absolute difference ${diff.toFixed(2)} from its master`);
}
