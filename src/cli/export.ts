import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../config/load.js';
import { EXIT_PAGES_FAILED } from './convert.js';
import { progressReporter } from './progress.js';

const int = (name: string, min: number, max: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name}: '${value}' is not a whole number from ${min} to ${max}`);
  return n;
};

const url = (value: string): string => {
  if (!/^https?:\/\/[^\s/]+/.test(value)) throw new ConfigError(`--base-url: '${value}' is not an absolute http(s) URL (IIIF ids must be absolute)`);
  return value.replace(/\/+$/, '');
};

export function exportCommand(): Command {
  return new Command('export')
    .summary('write a static level-0 copy of the archive: tiles, info.json, manifests, collections')
    .description(
      'Write everything a viewer asks of the archive as plain files, so that a static web host or a\n' +
        'bucket serves it with no Vitrine server: for every image of a converted data folder its\n' +
        'Image API 3.0 and 2.1 info.json (level 0), the tiles and sizes it declares, at the URL paths\n' +
        'the server uses (OUT/iiif/3/<identifier>/…), and every manifest and collection (3.0 and 2.1,\n' +
        'laid out as `vitrine manifests` writes them) pointing at them, and a PDF of every open object\n' +
        '(OUT/pdf/<object>.pdf, searchable where it has OCR text). Stored JPEG tiles are copied as\n' +
        'they are; other requests are rendered as the server renders them.\n\n' +
        'IIIF ids are absolute: --base-url is the URL OUT will be published at. Re-running is safe and\n' +
        'fast: images already exported are skipped, and a run killed at any moment resumes (files are\n' +
        `renamed into place whole). Exit code ${EXIT_PAGES_FAILED} when some images could not be exported.`,
    )
    .requiredOption('-d, --data <dir>', 'output folder of vitrine convert (its catalog.sqlite and images/)')
    .option('--catalog <file|postgres-url>', "the catalog, when not DATA/catalog.sqlite: another SQLite file, or postgres://user@host:5432/db[?schema=name] (vitrine convert's --catalog)")
    .option('--catalog-schema <name>', "the PostgreSQL schema of the catalog's tables")
    .requiredOption('--base-url <url>', 'absolute URL OUT will be published at (ids of every document)', url)
    .requiredOption('-o, --out <dir>', 'folder to write the copy into')
    .option('-w, --workers <n>', `images exported at once (default: number of cores, ${cpus().length})`, int('workers', 1, 256))
    .option('--pdf-size <px>', 'longest side of the pages of each object\'s PDF, OUT/pdf/<object>.pdf (default 1500; 0: no PDFs)', int('pdf-size', 0, 10_000))
    .option('--json', 'print the report as JSON on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ vitrine export --data ./vitrine-data --base-url https://archive.example.org --out ./site\n' +
        '  $ python3 -m http.server -d ./site 8000   # then open a manifest from ./site/collection/top.json',
    )
    .action(async (opts: { data: string; baseUrl: string; out: string; workers?: number; pdfSize?: number; json?: boolean; catalog?: string; catalogSchema?: string }) => {
      if (opts.pdfSize !== undefined && opts.pdfSize > 0 && opts.pdfSize < 100) throw new ConfigError(`--pdf-size: '${opts.pdfSize}' is too small for a page (100 to 10000, or 0 for no PDFs)`);
      if (opts.catalog === undefined && !existsSync(path.join(opts.data, 'catalog.sqlite'))) throw new ConfigError(`--data: ${opts.data} has no catalog.sqlite (run vitrine convert first)`);
      const progress = progressReporter();
      const { exportStatic } = await import('../export/run.js');
      const report = await exportStatic({
        data: opts.data,
        catalog: opts.catalog,
        catalogSchema: opts.catalogSchema,
        out: opts.out,
        baseUrl: opts.baseUrl,
        workers: opts.workers ?? cpus().length,
        pdfSize: opts.pdfSize,
        onProgress: (p) => progress.update(p),
      });
      progress.finish();
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        console.error(
          `exported ${report.exported}, skipped ${report.skipped} (up to date), failed ${report.failed.length} images — ${report.files} image files written; ` +
            `${report.pdfs.written} PDFs written (${report.pdfs.skipped} up to date); ${report.manifests} manifests and ${report.collections} collections; start at ${report.top}`,
        );
      }
      if (report.failed.length > 0) process.exitCode = EXIT_PAGES_FAILED;
    });
}
