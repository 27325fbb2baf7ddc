import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Where `npm run build` bundles the web pages (web/build.ts); the same from src/web and dist/web. */
export const PUBLIC_DIR = path.resolve(import.meta.dirname, '../../dist/public');

/** The URL path the bundles are served under. */
export const PUBLIC_PREFIX = '/web/';

export type PageName = 'home' | 'mirador' | 'uv' | 'openseadragon';

/** What a page loads, as paths under PUBLIC_PREFIX. */
export interface PageAssets {
  readonly script: string;
  readonly styles: readonly string[];
}

interface AssetsFile {
  readonly pages: Record<PageName, PageAssets>;
  readonly vendor: { readonly uv: string; readonly openseadragonImages: string };
}

/**
 * The bundles of one build, read once from dist/public/assets.json. Undefined when the pages were
 * not built (a checkout compiled with tsc alone): the image and manifest APIs work without them.
 */
export class WebAssets {
  private constructor(private readonly file: AssetsFile) {}

  static load(dir: string = PUBLIC_DIR): WebAssets | undefined {
    const file = path.join(dir, 'assets.json');
    if (!existsSync(file)) return undefined;
    return new WebAssets(JSON.parse(readFileSync(file, 'utf8')) as AssetsFile);
  }

  page(name: PageName): PageAssets {
    return this.file.pages[name];
  }

  /** Universal Viewer's browser build (a script that loads its chunks from beside itself). */
  get uvScript(): string {
    return `${this.file.vendor.uv}/umd/UV.js`;
  }

  get uvStyle(): string {
    return `${this.file.vendor.uv}/uv.css`;
  }

  /** OpenSeadragon's button images, a folder. */
  get openSeadragonImages(): string {
    return this.file.vendor.openseadragonImages;
  }
}

/** Names that change with their content (esbuild's `-HASH`, a package version in the folder): cacheable for ever. */
export const isImmutable = (relativePath: string): boolean =>
  relativePath.startsWith('vendor/') || /-[A-Z0-9]{8}\.[a-z0-9]+(\.(br|gz))?$/.test(path.basename(relativePath));
