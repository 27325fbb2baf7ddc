/**
 * CPU time per lossless crop of an edge tile of the benchmark image (6000×4500, 256-pixel JPEG tiles
 * at quality 80): the right edge (112×256), the bottom edge (256×148) and the corner (112×148), by
 * the addon's fast crop and by tjTransform (what cropJpeg did before it), the crop alone and as
 * readStoredTile makes it for the server (tile read from the file, tables spliced in, cropped).
 *
 *   npm run bench:crop
 *   npm run bench:crop -- --image /elsewhere/bench.tif
 *
 * Each figure is the median of 7 runs (min beside it) of process CPU time (user + system) per crop.
 */
import { parseArgs } from 'node:util';
import { nativeAddon, type NativeBinding } from '../src/imaging/native.js';
import { openSource } from '../src/imaging/open-source.js';
import { readStoredTile, type StoredTile } from '../src/imaging/passthrough.js';
import { benchImage } from './lib/fixture.js';

const { values: args } = parseArgs({ options: { image: { type: 'string' } } });
const { binding: addon, reason } = nativeAddon();
if (!addon?.cropJpegInPlace || !addon.cropJpegTransform) throw new Error(`the native addon has no fast crop: ${reason}`);
const source = await openSource(args.image ?? (await benchImage()));
const level = source.info.levels[0]!;
if (!level.jpegTiles || !level.tile) throw new Error('the benchmark image has no stored JPEG tiles');
const columns = Math.ceil(level.width / level.tile.width);
const rows = Math.ceil(level.height / level.tile.height);
const lastWidth = level.width - (columns - 1) * level.tile.width;
const lastHeight = level.height - (rows - 1) * level.tile.height;

/** Median and minimum of 7 runs, in µs of CPU per call. */
async function cpu(calls: number, run: () => unknown): Promise<string> {
  for (let i = 0; i < calls / 10; i++) await run();
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < calls; i++) await run();
    const used = process.cpuUsage(start);
    runs.push((used.user + used.system) / calls);
  }
  runs.sort((a, b) => a - b);
  return `${runs[3]!.toFixed(1)} (min ${runs[0]!.toFixed(1)})`;
}

// readStoredTile as it was: every crop by tjTransform.
const transformOnly = { cropJpeg: addon.cropJpegTransform.bind(addon) } as NativeBinding;
console.log(`${level.width}×${level.height}, tiles ${level.tile.width}×${level.tile.height}; µs of CPU per crop, median of 7 runs`);
console.log('tile                bytes  fast crop         tjTransform        readStoredTile, fast  readStoredTile, tjTransform');
for (const [what, row, column] of [
  ['right edge', 0, columns - 1],
  ['bottom edge', rows - 1, 0],
  ['corner', rows - 1, columns - 1],
] as const) {
  const index = row * columns + column;
  const crop = { width: column === columns - 1 ? lastWidth : level.tile.width, height: row === rows - 1 ? lastHeight : level.tile.height };
  const tile = { level, index, crop } as StoredTile;
  const whole = (await readStoredTile(source, { level: tile.level, index }, undefined))!;
  const work = Buffer.allocUnsafeSlow(whole.length);
  const fast = await cpu(5000, () => {
    work.set(whole);
    return addon.cropJpegInPlace!(work, crop.width, crop.height);
  });
  const transform = await cpu(1000, () => addon.cropJpegTransform!(whole, crop.width, crop.height));
  const servedFast = await cpu(3000, () => readStoredTile(source, tile, addon));
  const servedTransform = await cpu(1000, () => readStoredTile(source, tile, transformOnly));
  const label = `${what} ${crop.width}×${crop.height}`.padEnd(20);
  console.log(`${label}${String(whole.length).padStart(5)}  ${fast.padEnd(18)}${transform.padEnd(19)}${servedFast.padEnd(22)}${servedTransform}`);
}
await source.close();
