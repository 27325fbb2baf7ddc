import { authServices2 } from '../auth/services.js';
import { authServices1, contexts3 } from '../auth/services-v1.js';
import { OPEN, type AccessPolicy } from '../auth/policy.js';
import type { PageRecord } from '../catalog/catalog.js';
import type { LinkedResource, ObjectMetadata, RangeSpec } from '../catalog/metadata.js';
import { canvasText3, manifestServices3 } from '../search/links.js';
import { maxImageSize, objectLabel, pageLabel, thumbnailOf, type BuildOptions, type ManifestSource, type ThumbnailOptions, type ThumbnailPage } from './model.js';

export const CONTEXT_3 = 'http://iiif.io/api/presentation/3/context.json';

type Json = Record<string, unknown>;

/** A page's Image API 3.0 service, as the annotation body and the thumbnails reference it. */
function imageService(page: ThumbnailPage, options: ThumbnailOptions): Json {
  return { id: options.urls.imageService(page.identifier, 3), type: 'ImageService3', profile: options.urls.staticImages ? 'level0' : 'level2' };
}

const withServices = (service: Json, nested: Json[]): Json => (nested.length > 0 ? { ...service, service: nested } : service);

/** A page's thumbnail (a manifest's, a canvas's, a collection's). */
export function thumbnail(page: ThumbnailPage, options: ThumbnailOptions): Json {
  const { size, param } = thumbnailOf(page, options, 3);
  return {
    id: `${options.urls.imageService(page.identifier, 3)}/full/${param}/0/default.jpg`,
    type: 'Image',
    format: 'image/jpeg',
    width: size.width,
    height: size.height,
    service: [imageService(page, options)],
  };
}

function canvas(page: PageRecord, metadata: ObjectMetadata, options: BuildOptions, text: ManifestSource['text'], access: AccessPolicy): Json {
  const { urls } = options;
  const canvasId = urls.canvas(page.identifier);
  const full = maxImageSize(page, options.limits);
  return {
    id: canvasId,
    type: 'Canvas',
    label: pageLabel(page, metadata),
    width: page.width,
    height: page.height,
    thumbnail: [thumbnail(page, options)],
    ...(text?.has(page.identifier) ? canvasText3(urls.base, page.identifier, text.get(page.identifier)!) : {}),
    items: [
      {
        id: urls.annotationPage(page.identifier),
        type: 'AnnotationPage',
        items: [
          {
            id: urls.annotation(page.identifier),
            type: 'Annotation',
            motivation: 'painting',
            target: canvasId,
            body: {
              id: `${urls.imageService(page.identifier, 3)}/full/max/0/default.jpg`,
              type: 'Image',
              format: 'image/jpeg',
              width: full.width,
              height: full.height,
              // The auth hook: a protected image's body names its Auth 2.0 probe (with the access service
              // nested), and its image service names the Auth 1.0 cookie service (for viewers that speak
              // only 1.0), where Presentation 3.0 § 5.7's example puts it and Mirador looks for it.
              service: [withServices(imageService(page, options), authServices1(options.urls.imageBase, access, 3)), ...authServices2(options.urls.imageBase, page.identifier, access)],
            },
          },
        ],
      },
    ],
  };
}

/** Ranges of the table of contents; pages no longer in the object are left out, and so are empty ranges. */
function ranges(objectId: string, specs: readonly RangeSpec[], present: Set<string>, options: BuildOptions, at: number[] = []): Json[] {
  const out: Json[] = [];
  specs.forEach((spec, i) => {
    const path = [...at, i + 1];
    const items: Json[] = spec.pages.filter((id) => present.has(id)).map((id) => ({ id: options.urls.canvas(id), type: 'Canvas' }));
    items.push(...ranges(objectId, spec.ranges, present, options, path));
    if (items.length > 0) out.push({ id: options.urls.range(objectId, path), type: 'Range', label: spec.label, items });
  });
  return out;
}

const withLabels = (links: readonly LinkedResource[] | undefined, fallback: Json['label']): LinkedResource[] | undefined =>
  links?.map((l) => ({ ...l, label: l.label ?? (fallback as LinkedResource['label']) }));

/** The descriptive properties shared by manifests (and, later, collections), as Presentation 3.0. */
export function descriptive3(metadata: ObjectMetadata, label: Json['label']): Json {
  const out: Json = {};
  if (metadata.summary) out.summary = metadata.summary;
  if (metadata.metadata?.length) out.metadata = metadata.metadata;
  if (metadata.requiredStatement) out.requiredStatement = metadata.requiredStatement;
  if (metadata.rights) out.rights = metadata.rights;
  if (metadata.provider?.length) out.provider = metadata.provider.map(({ id, ...rest }) => ({ id, type: 'Agent', ...rest }));
  if (metadata.homepage?.length) out.homepage = withLabels(metadata.homepage, label);
  if (metadata.seeAlso?.length) out.seeAlso = metadata.seeAlso;
  if (metadata.navDate) out.navDate = metadata.navDate;
  if (metadata.behavior?.length) out.behavior = metadata.behavior;
  if (metadata.viewingDirection) out.viewingDirection = metadata.viewingDirection;
  return out;
}

/** A rendering's label: a PDF of an object with OCR says it is searchable. */
export const pdfLabel = (pagesWithText: number): string => (pagesWithText > 0 ? 'PDF (searchable text)' : 'PDF');

/** `rendering`: the object as one PDF, when there is one. */
function pdfRendering3(url: string | undefined, pagesWithText: number): Json {
  return url ? { rendering: [{ id: url, type: 'Text', label: { en: [pdfLabel(pagesWithText)] }, format: 'application/pdf' }] } : {};
}

/** The Presentation 3.0 manifest of one object: one Canvas per page, in reading order. */
export function manifest3(source: ManifestSource, options: BuildOptions): Json {
  const { object, pages, metadata } = source;
  const label = objectLabel(object, metadata);
  const first = pages[0];
  const structures = metadata.structure ? ranges(object.id, metadata.structure, new Set(pages.map((p) => p.identifier)), options) : [];
  const access = source.access ?? OPEN;
  return {
    // Extension contexts come before the Presentation one.
    '@context': access.access === 'open' ? CONTEXT_3 : contexts3(CONTEXT_3),
    id: options.urls.manifest(object.id, 3),
    type: 'Manifest',
    label,
    ...descriptive3(metadata, label),
    ...(first ? { thumbnail: [thumbnail(first, options)] } : {}),
    partOf: [{ id: options.urls.collection(source.parent.path, 3), type: 'Collection', label: source.parent.label }],
    ...pdfRendering3(options.urls.pdf(object.id), source.text?.size ?? 0),
    ...(source.text?.size ? { service: manifestServices3(options.urls.base, object.id) } : {}),
    items: pages.map((page) => canvas(page, metadata, options, source.text, access)),
    ...(structures.length > 0 ? { structures } : {}),
  };
}
