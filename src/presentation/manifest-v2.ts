import { OPEN, type AccessPolicy } from '../auth/policy.js';
import { authServices1 } from '../auth/services-v1.js';
import type { PageRecord } from '../catalog/catalog.js';
import type { LanguageMap, ObjectMetadata, RangeSpec } from '../catalog/metadata.js';
import { canvasText2, manifestService2 } from '../search/links.js';
import { pdfLabel } from './manifest-v3.js';
import { maxImageSize, objectLabel, pageLabel, thumbnailOf, type BuildOptions, type ManifestSource, type ThumbnailOptions, type ThumbnailPage } from './model.js';

/**
 * Presentation 2.1, derived from the same catalog data as 3.0 with the 2.1 names: sequences of
 * canvases with oa:Annotation images, Image API 2 services, label/description/attribution/license.
 */
export const CONTEXT_2 = 'http://iiif.io/api/presentation/2/context.json';
const IMAGE_CONTEXT_2 = 'http://iiif.io/api/image/2/context.json';
const LEVEL2_2 = 'http://iiif.io/api/image/2/level2.json';
const LEVEL0_2 = 'http://iiif.io/api/image/2/level0.json';

type Json = Record<string, unknown>;

/** A language map as a 2.1 value: a plain string when it has no language, else @value/@language objects. */
export function value2(map: LanguageMap): string | (string | { '@value': string; '@language': string })[] {
  const entries = Object.entries(map);
  if (entries.length === 1 && entries[0]![0] === 'none') {
    const values = entries[0]![1];
    return values.length === 1 ? values[0]! : values;
  }
  return entries.flatMap(([language, values]) => values.map((v) => (language === 'none' ? v : { '@value': v, '@language': language })));
}

function service2(page: ThumbnailPage, options: ThumbnailOptions): Json {
  return { '@context': IMAGE_CONTEXT_2, '@id': options.urls.imageService(page.identifier, 2), profile: options.urls.staticImages ? LEVEL0_2 : LEVEL2_2 };
}

/** A page's thumbnail in 2.1 (a manifest's, a canvas's, a collection's). */
export function thumbnail2(page: ThumbnailPage, options: ThumbnailOptions): Json {
  const { size, param } = thumbnailOf(page, options, 2);
  return {
    '@id': `${options.urls.imageService(page.identifier, 2)}/full/${param}/0/default.jpg`,
    '@type': 'dctypes:Image',
    format: 'image/jpeg',
    width: size.width,
    height: size.height,
    service: service2(page, options),
  };
}

function canvas2(page: PageRecord, metadata: ObjectMetadata, options: BuildOptions, text: ManifestSource['text'], access: AccessPolicy): Json {
  // The Auth 1.0 hook (2.1 viewers speak 1.0 only): a protected image's service names its cookie service.
  const auth = authServices1(options.urls.imageBase, access);
  const { urls } = options;
  const canvasId = urls.canvas(page.identifier);
  const full = maxImageSize(page, options.limits);
  // 2.1 sizes: `full` when the server gives the whole image, else the canonical `w,`.
  const size = full.width === page.width && full.height === page.height ? 'full' : `${full.width},`;
  return {
    '@id': canvasId,
    '@type': 'sc:Canvas',
    label: value2(pageLabel(page, metadata)),
    width: page.width,
    height: page.height,
    thumbnail: thumbnail2(page, options),
    ...(text?.has(page.identifier) ? canvasText2(urls.base, page.identifier, text.get(page.identifier)!) : {}),
    images: [
      {
        '@id': urls.annotation(page.identifier),
        '@type': 'oa:Annotation',
        motivation: 'sc:painting',
        on: canvasId,
        resource: {
          '@id': `${urls.imageService(page.identifier, 2)}/full/${size}/0/default.jpg`,
          '@type': 'dctypes:Image',
          format: 'image/jpeg',
          width: full.width,
          height: full.height,
          service: auth.length > 0 ? { ...service2(page, options), service: auth } : service2(page, options),
        },
      },
    ],
  };
}

/** 2.1 ranges are listed flat in `structures`, children by id in `ranges`. */
function ranges2(objectId: string, specs: readonly RangeSpec[], present: Set<string>, options: BuildOptions, out: Json[], at: number[] = []): string[] {
  const ids: string[] = [];
  specs.forEach((spec, i) => {
    const path = [...at, i + 1];
    const range: Json = { '@id': options.urls.range(objectId, path), '@type': 'sc:Range', label: value2(spec.label) };
    const index = out.push(range) - 1;
    const canvases = spec.pages.filter((id) => present.has(id)).map((id) => options.urls.canvas(id));
    const children = ranges2(objectId, spec.ranges, present, options, out, path);
    if (canvases.length === 0 && children.length === 0) {
      out.splice(index, 1);
      return;
    }
    if (canvases.length > 0) range.canvases = canvases;
    if (children.length > 0) range.ranges = children;
    ids.push(range['@id'] as string);
  });
  return ids;
}

const VIEWING_HINTS = new Set(['paged', 'continuous', 'individuals']);

/** The descriptive properties in their 2.1 names. */
export function descriptive2(metadata: ObjectMetadata, label: LanguageMap): Json {
  const out: Json = {};
  if (metadata.summary) out.description = value2(metadata.summary);
  if (metadata.metadata?.length) out.metadata = metadata.metadata.map((e) => ({ label: value2(e.label), value: value2(e.value) }));
  if (metadata.requiredStatement) out.attribution = value2(metadata.requiredStatement.value);
  if (metadata.rights) out.license = metadata.rights;
  const logo = metadata.provider?.flatMap((a) => a.logo ?? [])[0];
  if (logo) out.logo = logo.id;
  if (metadata.homepage?.length) {
    out.related = metadata.homepage.map((h) => ({ '@id': h.id, ...(h.format ? { format: h.format } : {}), label: value2(h.label ?? label) }));
  }
  if (metadata.seeAlso?.length) {
    out.seeAlso = metadata.seeAlso.map((s) => ({ '@id': s.id, ...(s.format ? { format: s.format } : {}), ...(s.profile ? { profile: s.profile } : {}) }));
  }
  if (metadata.navDate) out.navDate = metadata.navDate;
  const hint = metadata.behavior?.find((b) => VIEWING_HINTS.has(b));
  if (hint) out.viewingHint = hint;
  if (metadata.viewingDirection) out.viewingDirection = metadata.viewingDirection;
  return out;
}

/** 2.1 `rendering` (on the manifest, where Mirador and UV offer it as a download). */
function pdfRendering2(url: string | undefined, pagesWithText: number): Json {
  return url ? { rendering: { '@id': url, label: pdfLabel(pagesWithText), format: 'application/pdf' } } : {};
}

/** The Presentation 2.1 manifest of one object. */
export function manifest2(source: ManifestSource, options: BuildOptions): Json {
  const { object, pages, metadata } = source;
  const label = objectLabel(object, metadata);
  const first = pages[0];
  const structures: Json[] = [];
  if (metadata.structure) ranges2(object.id, metadata.structure, new Set(pages.map((p) => p.identifier)), options, structures);
  return {
    '@context': CONTEXT_2,
    '@id': options.urls.manifest(object.id, 2),
    '@type': 'sc:Manifest',
    label: value2(label),
    ...descriptive2(metadata, label),
    ...(first ? { thumbnail: thumbnail2(first, options) } : {}),
    within: options.urls.collection(source.parent.path, 2),
    ...pdfRendering2(options.urls.pdf(object.id), source.text?.size ?? 0),
    ...(source.text?.size ? { service: manifestService2(options.urls.base, object.id) } : {}),
    sequences: [
      {
        '@id': options.urls.sequence(object.id),
        '@type': 'sc:Sequence',
        canvases: pages.map((page) => canvas2(page, metadata, options, source.text, source.access ?? OPEN)),
      },
    ],
    ...(structures.length > 0 ? { structures } : {}),
  };
}
