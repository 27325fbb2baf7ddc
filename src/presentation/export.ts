import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { catalogLocation, openCatalogForReading } from '../catalog/open.js';
import type { SizeLimits } from '../image-api/request.js';
import type { LanguageMap } from '../catalog/metadata.js';
import { catalogTree } from './catalog-tree.js';
import { collection2, collection3, TOP_LABEL, type CollectionNode } from './collections.js';
import { manifest2 } from './manifest-v2.js';
import { manifest3 } from './manifest-v3.js';
import { PresentationUrls, type StaticImages } from './urls.js';

export interface ExportOptions {
  /** Output folder of `vitrine convert` (its catalog.sqlite). */
  readonly data: string;
  /** The catalog when it is not the data folder's catalog.sqlite (`--catalog`: a file or postgres://…). */
  readonly catalog?: string | undefined;
  readonly catalogSchema?: string | undefined;
  /** Where the files will be published: ids are BASE/manifest/<id>.json, BASE/collection/top.json. */
  readonly baseUrl: string;
  /** The image server's public URL (default: baseUrl). */
  readonly imageBaseUrl?: string | undefined;
  readonly out: string;
  /** Also write Presentation 2.1 under OUT/presentation/2/. */
  readonly v2?: boolean | undefined;
  readonly limits?: SizeLimits | undefined;
  /** The top collection's label (default: the masters root's collection.yml, else 'All objects'). */
  readonly topLabel?: LanguageMap | undefined;
  /** The images are a static level-0 copy (vitrine export): thumbnails and services follow it. */
  readonly staticImages?: StaticImages | undefined;
}

export interface ExportReport {
  readonly manifests: number;
  readonly collections: number;
  readonly top: string;
}

/**
 * Writes every manifest and collection as static files, laid out as their ids (so any web server
 * serves them). Objects are read and written one at a time: memory does not grow with the catalog.
 */
export async function exportManifests(options: ExportOptions): Promise<ExportReport> {
  const base = options.baseUrl.replace(/\/+$/, '');
  const urls = new PresentationUrls(base, (options.imageBaseUrl ?? base).replace(/\/+$/, ''), 'static', options.staticImages);
  const limits = options.limits ?? { maxArea: 25_000_000 };
  const fileFor = (url: string): string => path.join(options.out, ...url.slice(base.length + 1).split('/').map(decodeURIComponent));
  const write = async (url: string, document: unknown): Promise<void> => {
    const file = fileFor(url);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, `${JSON.stringify(document, null, 1)}\n`);
    await rename(`${file}.tmp`, file);
  };

  const catalog = await openCatalogForReading(catalogLocation(options.data, options.catalog, options.catalogSchema));
  try {
    const { tree, objects } = await catalogTree(catalog, options.topLabel);
    let manifests = 0;
    for (const object of objects) {
      if (object.pageCount === 0) continue;
      const pages = await catalog.pages(object.id);
      if (pages.length === 0) continue;
      const parentPath = tree.parentOf.get(object.id) ?? '';
      const source = {
        object,
        pages,
        metadata: (await catalog.objectMetadata(object.id))?.metadata ?? {},
        parent: { path: parentPath, label: tree.nodes.get(parentPath)?.label ?? TOP_LABEL },
      };
      await write(urls.manifest(object.id, 3), manifest3(source, { urls, limits }));
      if (options.v2) await write(urls.manifest(object.id, 2), manifest2(source, { urls, limits }));
      manifests++;
    }
    let collections = 0;
    const walk = async (node: CollectionNode): Promise<void> => {
      await write(urls.collection(node.path, 3), collection3(tree, node, urls));
      if (options.v2) await write(urls.collection(node.path, 2), collection2(node, urls));
      collections++;
      for (const child of node.children.values()) if (child.children.size > 0) await walk(child);
    };
    await walk(tree.root);
    return { manifests, collections, top: urls.collection('', 3) };
  } finally {
    await catalog.close();
  }
}
