/**
 * Bundles the web pages (home page, Mirador, Universal Viewer, OpenSeadragon) into dist/public,
 * which the server sends under /web/: every script, style sheet, font and image comes from npm
 * packages and is served by Vitrine itself, so a page never reaches another host.
 *
 *   dist/public/<page>/<name>-<hash>.{js,css}   our bundles (esbuild), content-hashed
 *   dist/public/assets/<name>-<hash>.<ext>      fonts and images they reference
 *   dist/public/vendor/<package>-<version>/…    prebuilt files of packages used as they ship
 *   dist/public/assets.json                     page → its script and style sheets (read by the server)
 *
 * Universal Viewer is used as its published browser build (a script that loads its own hashed
 * chunks); rebundling it would mean rebuilding its Less, workers and chunks for nothing.
 */
import { cp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';
import { build, type Metafile } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'dist', 'public');
const PAGES = ['home', 'mirador', 'uv', 'openseadragon'] as const;

/** A package's folder and version, as installed. */
async function installed(name: string): Promise<{ dir: string; version: string }> {
  const dir = path.join(ROOT, 'node_modules', name);
  const { version } = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { version: string };
  return { dir, version };
}

/** The script and style sheets esbuild wrote for each page, as paths under OUT. */
function pageOutputs(metafile: Metafile): Record<string, { script: string; styles: string[] }> {
  const pages: Record<string, { script: string; styles: string[] }> = {};
  for (const [file, output] of Object.entries(metafile.outputs)) {
    const page = PAGES.find((p) => output.entryPoint === `web/${p}/${p}.ts`);
    if (!page) continue;
    pages[page] = { script: path.relative(OUT, file), styles: output.cssBundle ? [path.relative(OUT, output.cssBundle)] : [] };
  }
  return pages;
}

/**
 * Universal Viewer 4.4 gives OpenSeadragon `prefixUrl: undefined`, which OpenSeadragon replaces by
 * its default '/images/', so the 1-pixel data: URLs UV uses for button images are requested as
 * /images/data:… from the server (a 404 and a console error on every page). An empty prefix is
 * what UV means. Fails the build if the code is not found exactly once, so an upgrade is looked at.
 */
async function patchUniversalViewer(umd: string): Promise<void> {
  const from = 'prefixUrl:void 0';
  const hits: string[] = [];
  for (const file of (await readdir(umd)).filter((f) => f.endsWith('.js'))) {
    const text = await readFile(path.join(umd, file), 'utf8');
    const count = text.split(from).length - 1;
    if (count === 0) continue;
    hits.push(`${file} (${count}×)`);
    await writeFile(path.join(umd, file), text.replaceAll(from, 'prefixUrl:""'));
  }
  if (hits.length !== 1 || !hits[0]!.endsWith('(1×)')) {
    throw new Error(`universalviewer: expected '${from}' once in one file of dist/umd, found: ${hits.join(', ') || 'none'}; review the patch in web/build.ts`);
  }
}

/** Every file under dir, recursively. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/** Writes .br and .gz beside text assets worth compressing; the server sends them when accepted. */
async function precompress(dir: string): Promise<void> {
  const brotli = promisify(brotliCompress);
  const gz = promisify(gzip);
  const candidates = (await files(dir)).filter((f) => /\.(js|css|svg|json)$/.test(f));
  await Promise.all(
    candidates.map(async (file) => {
      if ((await stat(file)).size < 1024) return;
      const data = await readFile(file);
      const [br, gzipped] = await Promise.all([
        // Quality 9 is within a few percent of 11 at a fraction of the time.
        brotli(data, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_SIZE_HINT]: data.length } }),
        gz(data, { level: 9 }),
      ]);
      await Promise.all([writeFile(`${file}.br`, br), writeFile(`${file}.gz`, gzipped)]);
    }),
  );
}

async function main(): Promise<void> {
  const started = performance.now();
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });

  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: PAGES.map((p) => `web/${p}/${p}.ts`),
    outdir: OUT,
    outbase: 'web',
    entryNames: '[dir]/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
    loader: { '.woff2': 'file', '.woff': 'file', '.png': 'file', '.svg': 'file', '.gif': 'file' },
    define: { 'process.env.NODE_ENV': '"production"' },
  });

  const uv = await installed('universalviewer');
  const osd = await installed('openseadragon');
  const vendor = {
    // `-p1`: patched (below); a new patch gets a new name, since these files are cached for ever.
    uv: `vendor/universalviewer-${uv.version}-p1`,
    openseadragonImages: `vendor/openseadragon-${osd.version}/images/`,
  };
  await cp(path.join(uv.dir, 'dist', 'umd'), path.join(OUT, vendor.uv, 'umd'), { recursive: true });
  await cp(path.join(uv.dir, 'dist', 'uv.css'), path.join(OUT, vendor.uv, 'uv.css'));
  await patchUniversalViewer(path.join(OUT, vendor.uv, 'umd'));
  await cp(path.join(osd.dir, 'build', 'openseadragon', 'images'), path.join(OUT, vendor.openseadragonImages), { recursive: true });

  await writeFile(path.join(OUT, 'assets.json'), `${JSON.stringify({ pages: pageOutputs(result.metafile), vendor }, null, 2)}\n`);
  await precompress(OUT);
  console.log(`web: bundled ${PAGES.length} pages into ${path.relative(ROOT, OUT)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await main();
