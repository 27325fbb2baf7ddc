/**
 * Content Search over a synthetic archive: how fast the index is built, how much memory that
 * takes, and query latency per object and across the whole archive.
 *
 *   npm run bench:search                              100,000 pages (500 objects of 200 pages)
 *   npm run bench:search -- --pages 10000 --queries 100
 *
 * The text is generated: 200–400 words per page drawn from a fixed vocabulary of pseudo-words with
 * a Zipf distribution (a few words on every page, most on few), each with a box on its line. It is
 * written into the catalog's index through the index's own interface (SqliteSearchIndex
 * .replacePage, what `vitrine convert` calls), not through images and OCR. Build: pages/s and the
 * resident set sampled while indexing (peak). Queries go over HTTP to a real `vitrine serve` on the
 * data: per object (Search 2.0, the first page of 100 hits and the total) and archive-wide (the top collection's Search 2.0, first page of
 * results), for single words (common, mid-frequency, rare), phrases taken from the pages and two
 * words. Cold is the first pass over the queries on a fresh server, warm a second pass of the same
 * queries (and the server process's CPU time over each pass, from /proc: less sensitive to other load
 * on the machine than the latencies); each answer is checked (hits where the text has them) before its time counts, and any
 * non-200 fails the benchmark. No peer runs: no other IIIF server here offers Content Search (the
 * issue's goals are p95 < 50 ms per object and < 200 ms archive-wide).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Catalog } from '../src/catalog/catalog.js';
import type { Line, PageText } from '../src/search/model.js';
import { SqliteSearchIndex } from '../src/search/sqlite-index.js';
import { BENCH_DIR } from './lib/fixture.js';
import { waitFor } from './lib/peers.js';
import { CLI, prepareBench } from './lib/setup.js';
import { median, quantile } from './lib/stats.js';
import { prng } from './lib/urls.js';

const { values: args } = parseArgs({
  options: {
    pages: { type: 'string', default: '100000' },
    'pages-per-object': { type: 'string', default: '200' },
    vocabulary: { type: 'string', default: '20000' },
    queries: { type: 'string', default: '100' },
    rebuild: { type: 'boolean', default: false },
  },
});
const PAGES = Number(args.pages);
const PER_OBJECT = Number(args['pages-per-object']);
const VOCABULARY = Number(args.vocabulary);
const QUERIES = Number(args.queries);
prepareBench({ peers: false });

/** Pseudo-words from syllables, distinct, rank 0 the most frequent. */
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'be', 'da', 'fi', 'go', 'hu', 'je', 'pa', 'qui', 'ze', 'xo', 'wa', 'yl'];
const words: string[] = [];
for (let i = 0; words.length < VOCABULARY; i++) {
  let n = i;
  let word = '';
  do {
    word += SYLLABLES[n % SYLLABLES.length];
    n = Math.floor(n / SYLLABLES.length);
  } while (n > 0);
  words.push(word);
}
const rankOf = (w: string): number => ranks.get(w)!;
const ranks = new Map(words.map((w, i) => [w, i]));
/** Zipf (s = 1): the cumulative weights of the ranks, for sampling by bisection. */
const cumulative = new Float64Array(VOCABULARY);
let sum = 0;
for (let r = 0; r < VOCABULARY; r++) cumulative[r] = sum += 1 / (r + 1);
function zipfRank(next: () => number): number {
  const target = next() * sum;
  let lo = 0;
  let hi = VOCABULARY - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const CANVAS = { width: 2400, height: 3200 };

/** Page n's text: 200–400 words, 12 to a line, each with its box in canvas pixels. */
function pageText(n: number): PageText {
  const next = prng(n + 1);
  const count = 200 + Math.floor(next() * 201);
  const lines: Line[] = [];
  for (let i = 0; i < count; i += 12) {
    const y = 100 + (i / 12) * 90;
    const lineWords = [];
    let x = 100;
    for (let k = i; k < Math.min(count, i + 12); k++) {
      const text = words[zipfRank(next)]!;
      const w = 30 * text.length;
      lineWords.push({ text, box: { x, y, w, h: 60 } });
      x += w + 20;
    }
    lines.push({ words: lineWords });
  }
  return { format: 'alto', size: CANVAS, lines };
}

const objectOf = (n: number): string => `box-${String(Math.floor(n / PER_OBJECT / 100)).padStart(3, '0')}/folder-${String(Math.floor(n / PER_OBJECT) % 100).padStart(3, '0')}`;
const pageId = (n: number): string => `${objectOf(n)}/${String((n % PER_OBJECT) + 1).padStart(4, '0')}`;

const dataDir = path.join(BENCH_DIR, 'search', `data-${PAGES}-${PER_OBJECT}-${VOCABULARY}`);
const catalogFile = path.join(dataDir, 'catalog.sqlite');
const buildFile = path.join(dataDir, 'build.json');

interface BuildFigures {
  pages: number;
  words: number;
  seconds: number;
  peakRssMb: number;
  catalogMb: number;
}

/** The catalog (objects and pages, no images: search and manifests need none) and the index of every page's text. */
async function build(): Promise<BuildFigures> {
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(path.join(dataDir, 'images'), { recursive: true });
  const catalog = new Catalog(catalogFile);
  for (let first = 0; first < PAGES; first += PER_OBJECT) {
    const id = objectOf(first);
    const list: { sourcePath: string; sourcePage: number }[] = [];
    for (let n = first; n < Math.min(PAGES, first + PER_OBJECT); n++) {
      const sourcePath = `/masters/${pageId(n)}.tif`;
      catalog.recordPage({
        objectId: id,
        sequence: (n % PER_OBJECT) + 1,
        identifier: pageId(n),
        sourcePath,
        sourcePage: 0,
        sourceSize: 36_000_000,
        sourceMtimeMs: 1_700_000_000_000,
        sourceSha256: '0'.repeat(64),
        settings: '{}',
        derivativePath: path.join(dataDir, 'images', `${pageId(n)}.tif`),
        width: CANVAS.width,
        height: CANVAS.height,
        convertedAt: new Date(0).toISOString(),
      });
      list.push({ sourcePath, sourcePage: 0 });
    }
    catalog.setObjectPages({ id, folder: id }, list);
  }
  catalog.close();

  const index = new SqliteSearchIndex(catalogFile);
  let peakRss = process.memoryUsage().rss;
  let wordCount = 0;
  const started = performance.now();
  for (let n = 0; n < PAGES; n++) {
    const text = pageText(n);
    wordCount += text.lines.reduce((a, l) => a + l.words.length, 0);
    index.replacePage({
      identifier: pageId(n),
      objectId: objectOf(n),
      sidecar: { path: `/masters/${pageId(n)}.alto.xml`, format: 'alto', size: 1, mtimeMs: 0, canvasWidth: CANVAS.width, canvasHeight: CANVAS.height, parserVersion: 1, indexedAt: new Date(0).toISOString() },
      text,
    });
    if (n % 1000 === 999) {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (n % 10000 === 9999) process.stderr.write(`  indexed ${n + 1} pages, ${((n + 1) / ((performance.now() - started) / 1000)).toFixed(0)} pages/s\n`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  index.close();
  const { size } = await import('node:fs').then((fs) => fs.statSync(catalogFile));
  const figures = { pages: PAGES, words: wordCount, seconds, peakRssMb: Math.max(peakRss, process.memoryUsage().rss) / 2 ** 20, catalogMb: size / 2 ** 20 };
  writeFileSync(buildFile, JSON.stringify(figures));
  return figures;
}

const built = !args.rebuild && existsSync(buildFile);
const figures: BuildFigures = built ? (JSON.parse(readFileSync(buildFile, 'utf8')) as BuildFigures) : await build();
console.log(`Index build${built ? ' (from the run that built this archive; --rebuild to build again)' : ''}:`);
console.log(`  ${figures.pages.toLocaleString('en')} pages, ${figures.words.toLocaleString('en')} words in ${figures.seconds.toFixed(1)} s: ${(figures.pages / figures.seconds).toFixed(0)} pages/s, ${(figures.words / figures.seconds / 1000).toFixed(0)}k words/s`);
console.log(`  peak RSS while indexing ${figures.peakRssMb.toFixed(0)} MB; catalog file ${figures.catalogMb.toFixed(0)} MB`);

// Queries, with what each answer must contain.
type Kind = 'common word' | 'mid word' | 'rare word' | 'phrase' | 'two words';
interface Query {
  kind: Kind;
  q: string;
  /** Per object: the object searched; archive-wide: undefined. */
  object: string | undefined;
  /** A page the query must find (per object: a canvas of the hits; archive-wide: that some page matches). */
  page: number;
}

function queries(scope: 'object' | 'archive'): Query[] {
  const next = prng(scope === 'object' ? 7 : 11);
  const list: Query[] = [];
  const kinds: Kind[] = ['common word', 'mid word', 'rare word', 'phrase', 'two words'];
  for (let i = 0; i < QUERIES; i++) {
    const kind = kinds[i % kinds.length]!;
    const n = Math.floor(next() * PAGES);
    const onPage = pageText(n).lines.flatMap((l) => l.words.map((w) => w.text));
    const byRank = [...new Set(onPage)].sort((a, b) => rankOf(a) - rankOf(b));
    const at = Math.floor(next() * (onPage.length - 1));
    const q =
      kind === 'common word'
        ? byRank[0]!
        : kind === 'mid word'
          ? byRank[Math.floor(byRank.length / 2)]!
          : kind === 'rare word'
            ? byRank[byRank.length - 1]!
            : kind === 'phrase'
              ? `"${onPage[at]} ${onPage[at + 1]}"`
              : `${byRank[1]} ${byRank[byRank.length - 2]}`;
    list.push({ kind, q, object: scope === 'object' ? objectOf(n) : undefined, page: n });
  }
  return list;
}

const port = 8198;
const origin = `http://127.0.0.1:${port}`;
const urlOf = (query: Query): string =>
  query.object === undefined ? `${origin}/iiif/search/2?q=${encodeURIComponent(query.q)}` : `${origin}/iiif/search/2/${query.object}?q=${encodeURIComponent(query.q)}`;

interface Answer {
  items: { target: string }[];
  partOf?: { total?: number };
}

/** One query, timed to the last byte, its answer checked: a non-200 or a missing hit fails the benchmark. */
async function run(query: Query): Promise<{ ms: number; hits: number }> {
  const url = urlOf(query);
  const started = performance.now();
  const response = await fetch(url);
  const text = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${text.slice(0, 200)}`);
  const answer = JSON.parse(text) as Answer;
  const canvas = `${origin}/iiif/canvas/${pageId(query.page)}`;
  // Per object, the page is among the hits unless the first page of results (100) is full before it.
  const found = query.object === undefined ? answer.items.length > 0 : answer.items.length === 100 || answer.items.some((a) => a.target.startsWith(`${canvas}#`));
  if (!found) throw new Error(`${url}: no hit${query.object === undefined ? '' : ` on ${canvas}`}, where the text has it`);
  return { ms, hits: answer.partOf?.total ?? answer.items.length };
}

/** The server process's CPU time so far (user + system, Linux /proc, in clock ticks of 10 ms). */
function serverCpuMs(): number {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const server = spawn(process.execPath, [CLI, 'serve', '--data', dataDir, '--port', String(port), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
try {
  await waitFor(`${origin}/health`, server, 'vitrine serve');
  for (const scope of ['object', 'archive'] as const) {
    const list = queries(scope);
    const passes: { kind: Kind; ms: number; hits: number }[][] = [];
    const cpuMs: number[] = [];
    for (let pass = 0; pass < 2; pass++) {
      const times = [];
      const cpuBefore = serverCpuMs();
      for (const query of list) times.push({ kind: query.kind, ...(await run(query)) });
      cpuMs.push(serverCpuMs() - cpuBefore);
      passes.push(times);
    }
    const goal = scope === 'object' ? 50 : 200;
    console.log(`\n${scope === 'object' ? `Per object (${PER_OBJECT} pages, Search 2.0, the first 100 hits and their total)` : `Archive-wide (${PAGES.toLocaleString('en')} pages, Search 2.0, first 20 matching pages)`}: ${QUERIES} queries; goal p95 < ${goal} ms`);
    console.log(`  ${'kind'.padEnd(12)} ${'hits (median)'.padStart(13)}   cold p50 / p95 ms    warm p50 / p95 ms`);
    for (const kind of [...new Set(list.map((q) => q.kind)), 'all' as const]) {
      const pick = (times: { kind: Kind; ms: number }[]): number[] => times.filter((t) => kind === 'all' || t.kind === kind).map((t) => t.ms);
      const [cold, warm] = [pick(passes[0]!), pick(passes[1]!)];
      const hits = passes[0]!.filter((t) => kind === 'all' || t.kind === kind).map((t) => t.hits);
      const f = (xs: number[]): string => `${median(xs).toFixed(1).padStart(7)} / ${quantile(xs, 0.95).toFixed(1).padStart(7)}`;
      console.log(`  ${kind.padEnd(12)} ${median(hits).toFixed(0).padStart(13)}   ${f(cold)}     ${f(warm)}`);
    }
    console.log(`  server CPU per query (mean, less sensitive to other load than the latencies): cold ${(cpuMs[0]! / QUERIES).toFixed(1)} ms, warm ${(cpuMs[1]! / QUERIES).toFixed(1)} ms`);
    const warmAll = passes[1]!.map((t) => t.ms);
    console.log(`  warm p95 ${quantile(warmAll, 0.95).toFixed(1)} ms: goal ${quantile(warmAll, 0.95) < goal ? 'met' : 'MISSED'}`);
  }
  console.log('\nNo peer: no other IIIF server here offers Content Search; the goals are the issue\'s.');
} finally {
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;
}
