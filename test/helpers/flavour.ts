import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { ConversionReport } from '../../src/pipeline/run.js';
import { CLI } from './cli.js';
import { referencePart } from './libtiff.js';
import { assertSimilar, decode, fetchBytes, type Pixels } from './pixels.js';
import { tempDir, type RunningServer } from './server.js';

// One check for every image flavour: what `vitrine serve` answers and what `vitrine convert` writes
// must match a reference decode (libtiff's, OpenJPEG's) at full size, a reduced size and a region.
const run = promisify(execFile);

/** A region inside the image (a quarter in from the left, a fifth from the top) and a half size. */
export function probes(width: number, height: number) {
  const region = { left: Math.floor(width / 4), top: Math.floor(height / 5), width: Math.floor(width / 2), height: Math.floor(height / 3) };
  const reduced = { width: Math.max(1, Math.floor(width / 2)), height: Math.max(1, Math.floor(height / 2)) };
  return { region, reduced };
}

/** Asserts that a served image's full size, a reduced size and a region match `reference` (PNG responses). */
export async function assertServesLike(base: string, id: string, reference: Pixels, tolerance: number): Promise<void> {
  const { width, height } = reference;
  const { region, reduced } = probes(width, height);
  const image = `${base}/iiif/3/${encodeURIComponent(id)}`;
  const info = JSON.parse((await fetchBytes(`${image}/info.json`)).body.toString()) as { width: number; height: number };
  assert.deepEqual([info.width, info.height], [width, height], `${id}: info.json size`);
  const full = await decode((await fetchBytes(`${image}/full/max/0/default.png`)).body, 3);
  assertSimilar(full, reference, tolerance, `${id} full size`);
  const small = await decode((await fetchBytes(`${image}/full/${reduced.width},${reduced.height}/0/default.png`)).body, 3);
  assertSimilar(small, await referencePart(reference, { left: 0, top: 0, width, height }, reduced), tolerance + 1, `${id} reduced`);
  const part = await decode((await fetchBytes(`${image}/${region.left},${region.top},${region.width},${region.height}/max/0/default.png`)).body, 3);
  assertSimilar(part, await referencePart(reference, region), tolerance, `${id} region`);
}

/** Runs `vitrine convert` on `masters` into `out` (environment `env` added) and returns its report. */
export async function convertFolder(masters: string, out: string, env: Record<string, string> = {}): Promise<ConversionReport> {
  const result = await run(process.execPath, [CLI, 'convert', masters, '--out', out, '--json', '--workers', '1'], {
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
  }).catch((e: { code: number; stdout: string; stderr: string }) => e);
  assert.ok('stdout' in result && result.stdout, JSON.stringify(result));
  return JSON.parse(result.stdout) as ConversionReport;
}

/** Asserts that a derivative's full resolution, its first reduced level and a region match `reference`. */
export async function assertConvertedLike(derivative: string, reference: Pixels, tolerance: number): Promise<void> {
  const { width, height } = reference;
  const full = await decode(sharp(derivative), 3);
  assertSimilar(full, reference, tolerance, `${derivative} full size`);
  const meta = await sharp(derivative).metadata();
  if ((meta.pages ?? 1) > 1) {
    const level = await decode(sharp(derivative, { page: 1 }), 3);
    const want = await referencePart(reference, { left: 0, top: 0, width, height }, { width: level.width, height: level.height });
    assertSimilar(level, want, tolerance + 1, `${derivative} reduced level`);
  }
  const { region } = probes(width, height);
  const part = await decode(sharp(derivative).extract(region), 3);
  assertSimilar(part, await referencePart(reference, region), tolerance, `${derivative} region`);
}

/** A temporary masters folder with one object folder (`box`), the references decoded for its files, and a server over `box`. */
export interface FlavourFolder {
  readonly dir: string;
  readonly masters: string;
  readonly box: string;
  readonly references: Map<string, Pixels>;
  server?: RunningServer;
  /** Closes the server and removes the folder. */
  cleanup(): Promise<void>;
}

export async function flavourFolder(): Promise<FlavourFolder> {
  const { dir, cleanup } = await tempDir();
  const masters = path.join(dir, 'masters');
  const box = path.join(masters, 'box');
  await mkdir(box, { recursive: true });
  const folder: FlavourFolder = {
    dir,
    masters,
    box,
    references: new Map(),
    async cleanup() {
      await folder.server?.close();
      await cleanup();
    },
  };
  return folder;
}
