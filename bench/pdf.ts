/**
 * PDF of a 1,000-page object: how much memory the server needs to stream it, and how fast it goes.
 *
 *   npm run bench:pdf                    # 1000 pages, --pdf-size default (1500 px)
 *   npm run bench:pdf -- --pages 200 --size 1000
 *
 * Masters: `pages` generated pages of 1200×1600 (noise, a coloured band, 24 printed lines of words,
 * the last naming the page) each with an hOCR sidecar of those words, converted once into .bench/pdf/ (pyramidal
 * TIFF, as `vitrine convert` does) and kept for later runs. Then a real `vitrine serve --data` (the
 * built CLI, a process of its own, on loopback) builds GET /iiif/pdf/book three times:
 *
 *   cold    the first build after start (every source opened for the first time)
 *   warm    the same PDF again
 *   slow    a reader that stops reading for 5 s after 20 MB: the server must wait for it, not
 *           build ahead into memory (RSS is sampled during the pause)
 *
 * The first PDF is checked before anything is reported: pdfinfo's page count and page size, and
 * pdftotext's text of the first and last pages (their printed phrase). The server's RSS is sampled
 * every 100 ms (/proc/PID/status), and its peak (VmHWM) read after each build. Exits 1 when a check
 * fails, any request fails, or the peak RSS reaches 300 MB.
 *
 * No peer: no other IIIF server here builds a PDF of an object (with or without a text layer).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { runConversion } from '../src/pipeline/run.js';
import { BENCH_DIR } from './lib/fixture.js';
import { CLI, ROOT } from './lib/setup.js';

const { values: args } = parseArgs({
  options: {
    pages: { type: 'string', default: '1000' },
    size: { type: 'string', default: '1500' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run bench:pdf [-- --pages 1000 --size 1500]');
  process.exit(0);
}
const PAGES = Number(args.pages);
const SIZE = Number(args.size);
if (!Number.isInteger(PAGES) || PAGES < 1 || !Number.isInteger(SIZE) || SIZE < 100 || SIZE > 3000) {
  console.error('bench:pdf: --pages must be a positive whole number, --size from 100 to 3000');
  process.exit(2);
}
const LIMIT_MB = 300;
const WIDTH = 1200;
const HEIGHT = 1600;
const LINES = 24;

const root = path.join(BENCH_DIR, 'pdf', String(PAGES));
const masters = path.join(root, 'masters');
const data = path.join(root, 'data');

/** The words printed on page n, line by line (its last line names the page: what pdftotext must find). */
const wordsOf = (n: number): string[][] =>
  Array.from({ length: LINES }, (_, line) => (line === LINES - 1 ? ['page', String(n), 'ends', 'here'] : ['archive', 'letter', `l${line}`, 'of', 'the', 'vitrine', 'text']));

const lineBox = (line: number, words: number): { x: number; y: number; w: number; h: number } => ({ x: 100, y: 120 + line * 58, w: 120 * words, h: 40 });

/** An SVG of text lines, one <text> per line at its hOCR line's place. */
const linesSvg = (lines: readonly { line: number; words: readonly string[] }[]): Buffer =>
  Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">${lines
      .map(({ line, words }) => `<text x="100" y="${150 + line * 58}" font-family="sans-serif" font-size="36" fill="#222">${words.join(' ')}</text>`)
      .join('')}</svg>`,
  );

async function writeMasters(): Promise<void> {
  await mkdir(path.join(masters, 'book'), { recursive: true });
  // The paper and the lines every page shares are drawn once; each page adds a band and its own last line.
  const body = wordsOf(0).slice(0, LINES - 1).map((words, line) => ({ line, words }));
  const paper = await sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: '#d8d0c0', noise: { type: 'gaussian', mean: 200, sigma: 18 } } })
    .composite([{ input: linesSvg(body) }])
    .png({ compressionLevel: 1 })
    .toBuffer();
  let next = 1;
  const worker = async (): Promise<void> => {
    while (next <= PAGES) {
      const n = next++;
      const name = `p-${String(n).padStart(4, '0')}`;
      const lines = wordsOf(n);
      const band = await sharp({ create: { width: WIDTH, height: 60, channels: 3, background: { r: n % 255, g: 90, b: 140 } } }).png().toBuffer();
      await sharp(paper)
        .composite([
          { input: band, top: (n * 37) % (HEIGHT - 60), left: 0, blend: 'multiply' },
          { input: linesSvg([{ line: LINES - 1, words: lines[LINES - 1]! }]) },
        ])
        .jpeg({ quality: 85 })
        .toFile(path.join(masters, 'book', `${name}.jpg`));
      const hocrLines = lines
        .map((words, i) => {
          const box = lineBox(i, words.length);
          const spans = words
            .map((w, k) => `<span class="ocrx_word" title="bbox ${box.x + k * 120} ${box.y} ${box.x + k * 120 + 110} ${box.y + box.h}">${w}</span>`)
            .join(' ');
          return `<span class="ocr_line" title="bbox ${box.x} ${box.y} ${box.x + box.w} ${box.y + box.h}">${spans}</span>`;
        })
        .join('\n');
      await writeFile(
        path.join(masters, 'book', `${name}.hocr`),
        `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><div class="ocr_page" title="bbox 0 0 ${WIDTH} ${HEIGHT}">\n${hocrLines}\n</div></body></html>\n`,
      );
    }
  };
  await Promise.all(Array.from({ length: cpus().length }, worker));
}

// 1. A fresh build, and the data (made once).
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
if (!existsSync(path.join(data, 'catalog.sqlite'))) {
  await rm(root, { recursive: true, force: true });
  let started = performance.now();
  await writeMasters();
  console.log(`masters: ${PAGES} pages of ${WIDTH}×${HEIGHT} with hOCR written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  started = performance.now();
  const report = await runConversion({ masters, out: data, workers: cpus().length, dryRun: false, settings: { format: 'ptiff', quality: 85, tileSize: 256, maxInputPixels: 100_000_000 } });
  if (report.totals.failed > 0 || report.totals.pages !== PAGES) throw new Error(`conversion: ${JSON.stringify(report.totals)}`);
  console.log(`converted in ${((performance.now() - started) / 1000).toFixed(1)} s (kept in ${path.relative(ROOT, root)} for later runs)`);
}

// 2. The server.
const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address() as { port: number };
    probe.close(() => resolve(free));
  });
});
const origin = `http://127.0.0.1:${port}`;
const child = spawn(process.execPath, [CLI, 'serve', '--data', data, '--port', String(port), '--host', '127.0.0.1', '--access-log', 'off', '--pdf-size', String(SIZE)], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
let exited = false;
child.once('exit', () => (exited = true));
for (let i = 0; ; i++) {
  if (exited) throw new Error('vitrine serve exited before answering');
  if (await fetch(`${origin}/health`).then((r) => r.ok).catch(() => false)) break;
  if (i > 300) throw new Error('vitrine serve did not answer /health within 30 s');
  await sleep(100);
}
const status = (): string => readFileSync(`/proc/${child.pid}/status`, 'utf8');
const kb = (field: string): number => Number(new RegExp(`${field}:\\s*(\\d+) kB`).exec(status())?.[1] ?? NaN);
const mb = (k: number): string => `${(k / 1024).toFixed(1)} MB`;
console.log(`server RSS after start: ${mb(kb('VmRSS'))}`);

interface Build {
  readonly seconds: number;
  readonly bytes: number;
  readonly rssMinKb: number;
  readonly rssMaxKb: number;
  readonly peakKb: number;
  readonly pauseKb?: readonly number[];
}

/** Downloads the PDF to `file`, sampling the server's RSS; `pauseAfter` bytes: stop reading for 5 s there. */
async function build(file: string, pauseAfter?: number): Promise<Build> {
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(kb('VmRSS')), 100);
  const started = performance.now();
  const response = await fetch(`${origin}/iiif/pdf/book`);
  if (response.status !== 200 || !response.body) throw new Error(`GET /iiif/pdf/book: ${response.status} ${await response.text()}`);
  const out = createWriteStream(file);
  let bytes = 0;
  let pauseKb: number[] | undefined;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    if (pauseAfter !== undefined && pauseKb === undefined && bytes >= pauseAfter) {
      pauseKb = [];
      for (let i = 0; i < 10; i++) {
        await sleep(500);
        pauseKb.push(kb('VmRSS'));
      }
    }
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  return { seconds, bytes, rssMinKb: Math.min(...samples), rssMaxKb: Math.max(...samples), peakKb: kb('VmHWM'), ...(pauseKb ? { pauseKb } : {}) };
}

const failures: string[] = [];
const pdfTool = (tool: string, ...rest: string[]): string => execFileSync(tool, rest, { encoding: 'utf8', maxBuffer: 64 << 20 });
try {
  const file = path.join(root, 'book.pdf');
  const cold = await build(file);
  // 3. Check the output before reporting any figure.
  const info = pdfTool('pdfinfo', file);
  const pages = Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]);
  if (pages !== PAGES) failures.push(`pdfinfo: ${pages} pages, expected ${PAGES}`);
  const scale = Math.min(1, SIZE / Math.max(WIDTH, HEIGHT));
  const expected = `${Math.round(WIDTH * scale) * 72 / 150} x ${Math.round(HEIGHT * scale) * 72 / 150} pts`;
  if (!new RegExp(`^Page size:\\s+${expected}`, 'm').test(info)) failures.push(`pdfinfo: page size is not ${expected}: ${/^Page size:.*$/m.exec(info)?.[0]}`);
  for (const n of [1, PAGES]) {
    const text = pdfTool('pdftotext', '-f', String(n), '-l', String(n), file, '-');
    if (!text.includes(`page ${n} ends here`)) failures.push(`pdftotext page ${n}: no 'page ${n} ends here' in ${JSON.stringify(text.slice(0, 200))}`);
  }
  const warm = await build(file);
  const slow = await build(path.join(root, 'slow.pdf'), 20 << 20);

  console.log(`\nPDF of ${PAGES} pages at ${SIZE} px (${expected} each), ${(cold.bytes / 2 ** 20).toFixed(1)} MB; checked: page count, page size, text of pages 1 and ${PAGES}`);
  for (const [name, b] of [['cold', cold], ['warm', warm], ['slow reader', slow]] as const) {
    console.log(
      `${name.padEnd(12)} ${b.seconds.toFixed(1).padStart(6)} s  ${(PAGES / b.seconds).toFixed(1).padStart(6)} pages/s  ${((b.bytes / 2 ** 20) / b.seconds).toFixed(1).padStart(6)} MB/s  server RSS ${mb(b.rssMinKb)}–${mb(b.rssMaxKb)}, peak since start ${mb(b.peakKb)}`,
    );
  }
  if (slow.pauseKb) console.log(`slow reader, RSS while it read nothing for 5 s: ${slow.pauseKb.map((k) => (k / 1024).toFixed(0)).join(' ')} MB`);
  const peak = Math.max(cold.peakKb, warm.peakKb, slow.peakKb) / 1024;
  const verdict = peak < LIMIT_MB ? 'met    ' : 'NOT MET';
  console.log(`  ${verdict} peak RSS ${peak.toFixed(1)} MB < ${LIMIT_MB} MB`);
  if (peak >= LIMIT_MB) failures.push(`peak RSS ${peak.toFixed(1)} MB`);
} finally {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}
if (failures.length > 0) {
  console.error(`bench:pdf failed:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
