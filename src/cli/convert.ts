import { Command, Option } from 'commander';
import { cpus } from 'node:os';
import { existsSync, statSync } from 'node:fs';
import { ConfigError } from '../config/error.js';
import { isS3Url, parseS3Url } from '../storage/s3-location.js';
import type { S3ClientOptions } from '../storage/s3-storage.js';
import type { RulesFile } from '../pipeline/rules.js';
import { DEFAULT_SETTINGS } from '../pipeline/default-settings.js';
import type { ConversionReport } from '../pipeline/run.js';
import { progressReporter } from './progress.js';

/** Exit code of a batch that finished but could not convert every page (usage errors are 2). */
export const EXIT_PAGES_FAILED = 3;

const int = (name: string, min: number, max: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name}: '${value}' is not a whole number from ${min} to ${max}`);
  return n;
};

function summary(report: ConversionReport): string {
  const t = report.totals;
  const lines = [
    `${report.dryRun ? 'would convert' : 'converted'} ${t.converted}, skipped ${t.skipped} (unchanged), failed ${t.failed}, ignored ${t.ignored} files — ${t.pages} pages in ${t.objects} objects`,
  ];
  if (report.withdrawn.length > 0) {
    const shown = report.withdrawn.slice(0, 20).join(', ');
    lines.push(`${report.dryRun ? 'would withdraw' : 'withdrawn'} (folder gone): ${shown}${report.withdrawn.length > 20 ? `, … and ${report.withdrawn.length - 20} more` : ''}`);
  }
  for (const v of report.variantsSkipped.slice(0, 20)) lines.push(`variant skipped: ${v.skipped} (chose ${v.chosen})`);
  if (report.variantsSkipped.length > 20) lines.push(`… and ${report.variantsSkipped.length - 20} more variants skipped (see the report)`);
  for (const a of report.anomalies.slice(0, 20)) lines.push(`anomaly: ${a.object}: ${a.kind}: ${a.detail}`);
  if (report.anomalies.length > 20) lines.push(`… and ${report.anomalies.length - 20} more anomalies (see the report)`);
  if (report.dryRun) for (const i of report.ignored.slice(0, 20)) lines.push(`ignored: ${i.relativePath} (${i.reason})`);
  if (report.tesseract) lines.push(`tesseract (${report.tesseract.lang}): read ${report.tesseract.runs} page${report.tesseract.runs === 1 ? '' : 's'} (the others had a sidecar or an up-to-date kept hOCR)`);
  if (report.reportPath) lines.push(`report: ${report.reportPath}`);
  return lines.join('\n');
}

/** The S3 side of a conversion: URLs checked, --data where it is needed, the endpoint as a URL. */
async function s3Options(masters: string, out: string, opts: Record<string, unknown>): Promise<S3ClientOptions | undefined> {
  for (const [flag, value] of [['masters', masters], ['--out', out]] as const) {
    if (!isS3Url(value)) continue;
    try {
      parseS3Url(value);
    } catch (error) {
      throw new ConfigError(`${flag}: ${(error as Error).message.replace(/^images: /, '')}`);
    }
  }
  if (isS3Url(out) && opts.data === undefined) throw new ConfigError('--data: an s3:// --out needs a local folder for the catalog and reports, e.g. --data ./vitrine-data');
  if (!isS3Url(out) && opts.data !== undefined) throw new ConfigError('--data: only with an s3:// --out (a local --out holds its own catalog)');
  if (!isS3Url(masters) && !isS3Url(out)) {
    if (opts.s3Endpoint !== undefined) throw new ConfigError('--s3-endpoint: neither the masters nor --out is an s3:// URL');
    return undefined;
  }
  const endpoint = opts.s3Endpoint as string | undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) throw new ConfigError(`--s3-endpoint: '${endpoint}' is not a URL such as http://127.0.0.1:9000`);
  return { endpoint, region: opts.s3Region as string | undefined };
}

/** `--ocr tesseract[:lang]`, checked against the Tesseract installed (its languages) before anything is converted. */
async function tesseractOption(value: string): Promise<{ lang: string }> {
  const [engine, lang = 'eng', ...rest] = value.split(':');
  if (engine !== 'tesseract' || rest.length > 0 || lang === '') {
    throw new ConfigError(`--ocr: '${value}' is not tesseract or tesseract:<lang> (e.g. --ocr tesseract:eng+deu)`);
  }
  const { tesseractProblem } = await import('../pipeline/tesseract.js');
  const problem = await tesseractProblem(lang);
  if (problem) throw new ConfigError(`--ocr: ${problem}`);
  return { lang };
}

export function convertCommand(): Command {
  return new Command('convert')
    .summary('convert masters into pyramidal TIFF or JPEG 2000 derivatives and a catalog')
    .description(
      'Convert a folder tree of digitization masters (TIFF, JPEG, PNG) into serving derivatives: tiled\n' +
        'pyramidal TIFF (JPEG tiles), or with --format jp2 JPEG 2000 (1024×1024 tiles, resolution levels\n' +
        'down to 256 px, RPCL, visually lossless at 45.5 dB PSNR, or --lossless), 8-bit sRGB or greyscale,\n' +
        'plus a catalog of every object and page.\n\n' +
        'One folder = one object; its pages are ordered by the sequence number in their names\n' +
        '(fa002-box1-folder2-001.TIF, FA002_B1_F2_003.tif → 1, 3), then naturally (page2 before page10).\n' +
        'A rules file derives object and sequence from names instead (see README). Junk files\n' +
        '(Thumbs.db, .DS_Store, ._*, notes) are listed as ignored.\n\n' +
        'Re-running is safe and fast: pages whose master (size, mtime) and settings are unchanged are\n' +
        'skipped; a run killed at any moment resumes where it stopped. A broken master is reported and\n' +
        `the batch goes on; the exit code is then ${EXIT_PAGES_FAILED}. A JSON report is written under OUT/reports/.\n\n` +
        'Objects whose folder is gone from the masters are withdrawn: their manifest answers 410 Gone,\n' +
        'they leave their collections and the change stream gets a Delete (--keep-missing: not).\n\n' +
        'Descriptive metadata for the manifests: a manifest.yml (or .json) beside an object\'s masters,\n' +
        'and/or one CSV for the whole batch (--metadata), read again on every run (see docs/metadata.md).\n\n' +
        'Full-text search (IIIF Content Search) reads each page\'s OCR sidecar beside its master (same base\n' +
        'name: p-001.alto.xml, p-001.hocr, p-001.txt). With --ocr tesseract, a page without one is read by\n' +
        'Tesseract (first page only of a multi-page master); its hOCR is kept in OUT/ocr/<identifier>.hocr,\n' +
        'never in the masters folder, and re-runs read it again only when the master changes. A page\n' +
        'Tesseract cannot read is an ocr anomaly; the page is still converted.\n\n' +
        'The masters and --out may be s3://bucket/prefix (any S3-compatible store with --s3-endpoint;\n' +
        'credentials from the AWS SDK chain): masters are downloaded a page at a time, derivatives\n' +
        'uploaded whole as <prefix>/<identifier>.tif; with an s3:// --out the catalog and reports go\n' +
        'to --data DIR. A rules file may also say which version of a page to convert (variants:).\n\n' +
        'The catalog may live in PostgreSQL (--catalog postgres://…), for several `vitrine serve`\n' +
        'processes and workers on different machines: each page is committed as it completes, as in the\n' +
        'SQLite file, and servers see it within a second. Reports, temporary files and the Content Search\n' +
        'index stay in the output folder (its catalog.sqlite holds only the index then).',
    )
    .argument('<masters>', 'folder of masters, or s3://bucket/prefix')
    .option('-o, --out <dir>', 'output folder: images/, catalog.sqlite, reports/; or s3://bucket/prefix for the derivatives (with --data)')
    .option('--data <dir>', 'with an s3:// --out: the local folder of catalog.sqlite, reports/ and temporary files (serve it with --images s3://… --data DIR)')
    .option(
      '--catalog <file|postgres-url>',
      'the catalog to record into: a SQLite file, or postgres://user@host:5432/db[?schema=name] that several servers and workers share (default: catalog.sqlite in the output folder). Tables are created or migrated first',
    )
    .option('--catalog-schema <name>', "the PostgreSQL schema of the catalog's tables (default: the URL's ?schema=, else public)")
    .option('--s3-endpoint <url>', 'an S3-compatible store (MinIO, Ceph…), path-style addressing; default: AWS S3 (credentials: the AWS SDK\'s standard chain)')
    .option('--s3-region <region>', 'the S3 region (default: AWS_REGION, else us-east-1)')
    .addOption(new Option('--format <format>', 'derivative format: pyramidal TIFF, or JPEG 2000 (needs the addon built with OpenJPEG)').choices(['ptiff', 'jp2']).default('ptiff'))
    .option('--quality <1-100>', 'ptiff: JPEG quality of the tiles; jp2: top quality layer at 20 + 0.3 × N dB PSNR (85: 45.5 dB)', int('quality', 1, 100), DEFAULT_SETTINGS.quality)
    .option('--lossless', 'jp2: reversible wavelet, every bit of the 8-bit image kept (--quality does not apply)')
    .option('-w, --workers <n>', `pages converted at once (default: number of cores, ${cpus().length})`, int('workers', 1, 256))
    .option('--rules <file>', 'naming rules (YAML or JSON): object and sequence from file names; variants: which version of a page to convert')
    .option('--metadata <file.csv>', 'descriptive metadata of the batch, one row per object (see docs/metadata.md)')
    .option('--max-input-pixels <px>', 'largest master accepted, in pixels', int('max-input-pixels', 1, Number.MAX_SAFE_INTEGER), DEFAULT_SETTINGS.maxInputPixels)
    .option('--keep-missing', 'keep objects whose folder is gone from the masters published (default: withdrawn, manifest 410)')
    .option('--remove-withdrawn', 'delete the derivatives of withdrawn objects too (default: kept on disk, not served)')
    .option(
      '--ocr <engine>',
      'tesseract[:lang]: run Tesseract on pages whose master has no OCR sidecar (lang: eng, or several as eng+deu; default eng); ' +
        'its hOCR is kept under OUT/ocr/ and made searchable',
    )
    .option('-n, --dry-run', 'plan and report anomalies; write nothing')
    .option('--json', 'print the report as JSON on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ vitrine convert ./masters --out ./vitrine-data\n' +
        '  $ vitrine convert ./masters --out ./vitrine-data --dry-run\n' +
        '  $ vitrine convert ./masters --out ./vitrine-jp2 --format jp2 [--lossless]\n' +
        '  $ vitrine convert ./flat-scans --out ./vitrine-data --rules rules.yml --workers 4\n' +
        '  $ vitrine convert ./masters --out ./vitrine-data --metadata batch.csv\n' +
        '  $ vitrine convert ./masters --out ./vitrine-data --ocr tesseract:eng+deu\n' +
        '  $ vitrine convert s3://bucket/masters --out s3://bucket/derivatives --data ./vitrine-data [--s3-endpoint URL]\n' +
        '  $ vitrine convert ./masters --out /srv/data --catalog postgres://vitrine@db.example.org/vitrine\n' +
        '  $ vitrine serve --data ./vitrine-data',
    )
    .action(async (masters: string, opts: Record<string, unknown>) => {
      if (!opts.out) throw new ConfigError('--out: give the output folder, e.g. --out ./vitrine-data');
      const out = opts.out as string;
      const s3 = await s3Options(masters, out, opts);
      if (!isS3Url(masters) && (!existsSync(masters) || !statSync(masters).isDirectory())) throw new ConfigError(`masters folder ${masters} does not exist`);
      const format = opts.format === 'jp2' ? 'jp2' : 'ptiff';
      if (opts.lossless && format !== 'jp2') throw new ConfigError('--lossless: applies to --format jp2 only');
      if (format === 'jp2') {
        const { jp2EncoderStatus } = await import('../imaging/jp2/encode.js');
        const status = jp2EncoderStatus();
        if (!status.available) throw new ConfigError(`--format jp2: JPEG 2000 encoding is not available: ${status.reason}`);
      }
      let rules: RulesFile = {};
      if (opts.rules) {
        const { loadRulesFile, RulesError } = await import('../pipeline/rules.js');
        try {
          rules = await loadRulesFile(opts.rules as string);
        } catch (error) {
          if (error instanceof RulesError) throw new ConfigError(error.message);
          throw error;
        }
      }
      if (opts.keepMissing && opts.removeWithdrawn) throw new ConfigError('--remove-withdrawn: nothing is withdrawn with --keep-missing; give one or the other');
      const tesseract = opts.ocr === undefined ? undefined : await tesseractOption(opts.ocr as string);
      const workers = (opts.workers as number | undefined) ?? cpus().length;
      const progress = progressReporter();
      const { runConversion } = await import('../pipeline/run.js');
      // This process converts page after page: libvips' buffers are reused, not faulted in afresh.
      (await import('../imaging/keep-freed-memory.js')).keepFreedMemoryForLibvips();
      const report = await runConversion({
        masters,
        out,
        data: opts.data as string | undefined,
        catalog: opts.catalog as string | undefined,
        catalogSchema: opts.catalogSchema as string | undefined,
        s3,
        workers,
        settings: {
          format,
          quality: opts.quality as number,
          tileSize: format === 'jp2' ? 1024 : DEFAULT_SETTINGS.tileSize,
          ...(format === 'jp2' ? { lossless: opts.lossless === true } : {}),
          maxInputPixels: opts.maxInputPixels as number,
        },
        rules: rules.rules,
        variants: rules.variants,
        metadataCsv: opts.metadata as string | undefined,
        dryRun: opts.dryRun === true,
        tesseract,
        missing: opts.keepMissing ? 'keep' : opts.removeWithdrawn ? 'withdraw-and-remove' : 'withdraw',
        onProgress: (p) => progress.update(p),
      }).catch((error: unknown) => {
        // An unreadable or malformed --metadata CSV is a usage error, found before anything is converted.
        if (error instanceof Error && error.name === 'MetadataError') throw new ConfigError(error.message);
        throw error;
      });
      progress.finish();
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else console.error(summary(report));
      if (report.totals.failed > 0) process.exitCode = EXIT_PAGES_FAILED;
    });
}
