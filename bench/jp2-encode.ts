/**
 * JPEG 2000 encoding: `vitrine convert --format jp2` against `opj_compress -threads N` (OpenJPEG's own
 * encoder program, the library Vitrine's addon links) on the same masters, in the same run.
 *
 *   npm run bench:jp2-encode                          # 6000×4500 (27 MP) and 12000×9000 (108 MP)
 *   npm run bench:jp2-encode -- --sizes 6000x4500 --rounds 3
 *
 * Like for like:
 * - the same input file: an uncompressed 8-bit RGB TIFF, the input opj_compress reads fastest (its
 *   PPM reader is slower, and LZW would add libtiff's decoding to its side);
 * - the same codestream: 1024×1024 tiles, the same number of resolution levels, RPCL, precincts
 *   256, 256 then 128, 64×64 code-blocks, one tile-part per level, PLT and TLM markers, and either the
 *   irreversible 9/7 wavelet with the same three PSNR layers (Vitrine's default, --quality 85) or the
 *   reversible 5/3 (--lossless); the file sizes printed side by side show it;
 * - the same threads: opj_compress -threads <cores>; Vitrine converts the one page with the default
 *   workers, which gives its encoder all the cores;
 * - whole processes, timed from start to exit: Vitrine's includes Node's start-up, the master's
 *   SHA-256 and the catalog; opj_compress's includes reading the whole TIFF into memory.
 * Each side runs `rounds` times, alternating, and keeps its best time (the machine may be shared).
 * Peak RSS from GNU time: Vitrine holds a few strips of 1024 rows, opj_compress the whole image.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import sharp from 'sharp';
import { JP2_PRECINCTS, jp2EncoderStatus, jp2QualityLayers, jp2Resolutions } from '../src/imaging/jp2/encode.js';
import { BENCH_DIR } from './lib/fixture.js';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '6000x4500,12000x9000' },
    rounds: { type: 'string', default: '2' },
    quality: { type: 'string', default: '85' },
  },
});
const sizes = args.sizes.split(',').map((s) => s.split('x').map(Number) as [number, number]);
const rounds = Number(args.rounds);
const quality = Number(args.quality);
const cores = cpus().length;
const root = path.resolve(import.meta.dirname, '..');
// opj_compress (libopenjp2-tools) and GNU time are all this bench needs; install the bench tools if missing.
const missing = (tool: string): boolean => !['/usr/bin', '/usr/local/bin'].some((dir) => existsSync(path.join(dir, tool)));
if (missing('opj_compress') || missing('time')) execFileSync('bash', [path.join(root, 'scripts/install-bench-deps.sh')], { stdio: 'inherit' });
if (!existsSync(path.join(root, 'dist/cli/index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
const cli = path.join(root, 'dist/cli/index.js');
const status = jp2EncoderStatus();
if (!status.available) {
  console.error(`bench:jp2-encode: ${status.reason}`);
  process.exit(2);
}

/** A scan-like master (the reference image scaled up, with noise), as an uncompressed RGB TIFF. */
async function master(file: string, width: number, height: number): Promise<void> {
  if (existsSync(file)) return;
  await mkdir(path.dirname(file), { recursive: true });
  const reference = path.join(root, 'test/fixtures/67352ccc-d1b0-11e1-89ae-279075081939.png');
  const noise = sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 0, sigma: 12 } } });
  await sharp(reference, { limitInputPixels: false })
    .removeAlpha()
    .resize(width, height, { fit: 'fill' })
    .composite([{ input: await noise.png().toBuffer(), blend: 'overlay', limitInputPixels: false }])
    .tiff({ compression: 'none' })
    .toFile(`${file}.tmp`);
  await rename(`${file}.tmp`, file);
}

interface Timing {
  seconds: number;
  /** User + system CPU seconds. */
  cpu: number;
  rssMb: number;
  bytes: number;
}

/** Runs a command under GNU time; wall and CPU seconds, peak RSS in MB, and the size of what it wrote. */
async function timed(command: string, commandArgs: string[], output: () => string): Promise<Timing> {
  const started = performance.now();
  const { stderr } = await run('/usr/bin/time', ['-f', 'RSS=%M CPU=%U+%S', command, ...commandArgs], { maxBuffer: 64 << 20 });
  const seconds = (performance.now() - started) / 1000;
  const rssMb = Number(/RSS=(\d+)/.exec(stderr)?.[1] ?? Number.NaN) / 1024;
  const cpu = /CPU=([\d.]+)\+([\d.]+)/.exec(stderr);
  return { seconds, cpu: Number(cpu?.[1]) + Number(cpu?.[2]), rssMb, bytes: (await stat(output())).size };
}

function opjArgs(input: string, output: string, width: number, height: number, lossless: boolean): string[] {
  const levels = jp2Resolutions(width, height, 1024);
  const precincts = Array.from({ length: levels }, (_, i) => JP2_PRECINCTS[Math.min(i, JP2_PRECINCTS.length - 1)]!)
    .map((p) => `[${p},${p}]`)
    .join(',');
  const common = ['-i', input, '-o', output, '-t', '1024,1024', '-n', String(levels), '-p', 'RPCL', '-c', precincts, '-b', '64,64'];
  const markers = ['-PLT', '-TLM', '-TP', 'R', '-threads', String(cores)];
  return [...common, ...markers, ...(lossless ? [] : ['-I', '-q', jp2QualityLayers(quality).join(',')])];
}

const work = path.join(BENCH_DIR, 'jp2-encode');
const rows: { what: string; vitrine: Timing; opj: Timing }[] = [];
for (const [width, height] of sizes) {
  const megapixels = Math.round((width * height) / 1e6);
  const mastersDir = path.join(work, `masters-${width}x${height}`);
  const file = path.join(mastersDir, 'map', 'sheet.tif');
  await master(file, width, height);
  for (const lossless of [false, true]) {
    const what = `${width}×${height} (${megapixels} MP) ${lossless ? 'lossless' : `q${quality}`}`;
    const outDir = path.join(work, 'out-vitrine');
    const opjOut = path.join(work, 'out-opj.jp2');
    const best = { vitrine: undefined as Timing | undefined, opj: undefined as Timing | undefined };
    const keep = (side: 'vitrine' | 'opj', t: Timing): void => {
      if (!best[side] || t.seconds < best[side].seconds) best[side] = t;
    };
    for (let round = 0; round < rounds; round++) {
      await rm(opjOut, { force: true });
      keep('opj', await timed('opj_compress', opjArgs(file, opjOut, width, height, lossless), () => opjOut));
      await rm(outDir, { recursive: true, force: true });
      const vitrineArgs = [cli, 'convert', mastersDir, '--out', outDir, '--format', 'jp2', '--quality', String(quality), ...(lossless ? ['--lossless'] : [])];
      keep('vitrine', await timed(process.execPath, vitrineArgs, () => path.join(outDir, 'images', 'map', 'sheet.jp2')));
    }
    rows.push({ what, vitrine: best.vitrine!, opj: best.opj! });
    console.log(`${what}: vitrine ${best.vitrine!.seconds.toFixed(2)} s, opj_compress ${best.opj!.seconds.toFixed(2)} s`);
  }
}

console.log(`\nJPEG 2000 encoding, one master at a time, ${cores} cores (opj_compress -threads ${cores}), best of ${rounds}\n`);
console.log('master                          vitrine s  opj_compress s  ratio   CPU s (vitrine / opj)  peak RSS MB (vitrine / opj)  file MB (vitrine / opj)');
for (const r of rows) {
  console.log(
    `${r.what.padEnd(31)} ${r.vitrine.seconds.toFixed(2).padStart(9)} ${r.opj.seconds.toFixed(2).padStart(15)} ${(r.vitrine.seconds / r.opj.seconds).toFixed(2).padStart(6)}× ` +
      `${`${r.vitrine.cpu.toFixed(1)} / ${r.opj.cpu.toFixed(1)}`.padStart(22)} ${`${r.vitrine.rssMb.toFixed(0)} / ${r.opj.rssMb.toFixed(0)}`.padStart(28)} ` +
      `${`${(r.vitrine.bytes / 1e6).toFixed(1)} / ${(r.opj.bytes / 1e6).toFixed(1)}`.padStart(24)}`,
  );
}
const worst = Math.max(...rows.map((r) => r.vitrine.seconds / r.opj.seconds));
console.log(`\ntarget: time ≤ 1.0× opj_compress: ${worst <= 1 ? 'met' : 'NOT met'} (worst ${worst.toFixed(2)}×)`);
const out = path.join(BENCH_DIR, 'results-jp2-encode.json');
await writeFile(out, JSON.stringify({ date: new Date().toISOString(), cores, quality, rounds, rows }, null, 2));
console.log(`results: ${out}`);
