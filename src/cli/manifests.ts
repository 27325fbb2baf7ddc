import { Command } from 'commander';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/load.js';

const url = (name: string) => (value: string): string => {
  if (!/^https?:\/\/[^\s/]+/.test(value)) throw new ConfigError(`${name}: '${value}' is not an http(s) URL`);
  return value.replace(/\/+$/, '');
};

export function manifestsCommand(): Command {
  return new Command('manifests')
    .summary('write every manifest and collection as static JSON files')
    .description(
      'Write the IIIF Presentation 3.0 manifest of every object of a converted data folder, and the\n' +
        'collections of its folder hierarchy, as static files that any web server can publish. Files are\n' +
        'laid out as their ids: OUT/manifest/<object id>.json, OUT/collection/top.json,\n' +
        'OUT/collection/<folder path>.json (and OUT/presentation/2/… with --v2), so publishing OUT at\n' +
        '--base-url makes every id resolve. Images stay on the image server (--image-base-url).',
    )
    .requiredOption('-d, --data <dir>', 'output folder of vitrine convert (its catalog.sqlite)')
    .option('--catalog <file|postgres-url>', "the catalog, when not DATA/catalog.sqlite: another SQLite file, or postgres://user@host:5432/db[?schema=name] (vitrine convert's --catalog)")
    .option('--catalog-schema <name>', "the PostgreSQL schema of the catalog's tables")
    .requiredOption('--base-url <url>', 'public URL OUT will be published at', url('--base-url'))
    .requiredOption('-o, --out <dir>', 'folder to write the files into')
    .option('--image-base-url <url>', 'public URL of the image server (default: --base-url)', url('--image-base-url'))
    .option('--v2', 'also write Presentation 2.1 under OUT/presentation/2/')
    .option('--collection-label <text>', "label of the top collection (default: the masters root's collection.yml, else 'All objects')")
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ vitrine manifests --data ./vitrine-data --base-url https://example.org/iiif --out ./site/iiif\n' +
        '  $ vitrine manifests --data ./vitrine-data --base-url https://static.example.org \\\n' +
        '      --image-base-url https://images.example.org --out ./public --v2',
    )
    .action(async (opts: { data: string; baseUrl: string; out: string; imageBaseUrl?: string; v2?: boolean; collectionLabel?: string; catalog?: string; catalogSchema?: string }) => {
      if (opts.catalog === undefined && !existsSync(path.join(opts.data, 'catalog.sqlite'))) throw new ConfigError(`--data: ${opts.data} has no catalog.sqlite (run vitrine convert first)`);
      const { exportManifests } = await import('../presentation/export.js');
      const report = await exportManifests({
        data: opts.data,
        catalog: opts.catalog,
        catalogSchema: opts.catalogSchema,
        baseUrl: opts.baseUrl,
        imageBaseUrl: opts.imageBaseUrl,
        out: opts.out,
        v2: opts.v2 === true,
        topLabel: opts.collectionLabel !== undefined ? { none: [opts.collectionLabel] } : undefined,
      });
      console.error(`wrote ${report.manifests} manifests and ${report.collections} collections to ${opts.out}; start at ${report.top}`);
    });
}
