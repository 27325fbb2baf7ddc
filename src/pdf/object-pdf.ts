import type { Writable } from 'node:stream';
import type { Credentials, Decision } from '../auth/gate.js';
import { resolveDegraded } from '../auth/degrade.js';
import { renderRequest } from '../export/render.js';
import { parseImageRequest } from '../image-api/grammar.js';
import type { Dimensions, ImageRequest, SizeLimits } from '../image-api/request.js';
import { resolveRequest } from '../image-api/resolve.js';
import type { ImageSource } from '../imaging/source.js';
import type { TextLine } from '../search/search-index.js';
import type { ImageService } from '../server/image-service.js';
import { pageSizeParam } from './geometry.js';
import type { PdfInfo } from './writer.js';

/** What a PDF of an object is made of: its pages in reading order, with the canvas size their OCR boxes are in. */
export interface PdfObject extends PdfInfo {
  readonly pages: readonly (Dimensions & { readonly identifier: string })[];
}

export interface PdfBuild {
  readonly images: ImageService;
  /** Longest side of each page, in pixels (smaller images keep their size; degraded ones their allowed size). */
  readonly longest: number;
  /** The server's output limits ({} for a static copy). */
  readonly limits: SizeLimits;
  /** Who asks: every page goes through the access gate with them. */
  readonly credentials: () => Credentials;
  /** A page's OCR lines (none when it has no text). */
  readonly text: (identifier: string) => readonly TextLine[];
  /** Refuses a page the gate lets through only in part (the static export: open images only). */
  readonly requireFullAccess?: boolean | undefined;
  /** Told after each page is written. */
  readonly onPage?: (() => void) | undefined;
}

/**
 * The Image API request of a PDF page: the whole image at most `longest` px on its longest side, as
 * the image route would resolve `full/!L,L/0/default.jpg` (or `full/max`) for the same person, so a
 * degraded image gives its degraded size, never more.
 */
export function pageRequest(source: ImageSource, decision: Exclude<Decision, { kind: 'deny' }>, longest: number, limits: SizeLimits): ImageRequest {
  const allowed = decision.kind === 'degrade' ? Math.min(longest, decision.maxSize) : longest;
  const parsed = parseImageRequest(3, 'full', pageSizeParam(source.info, allowed), '0', 'default.jpg');
  return decision.kind === 'degrade' ? resolveDegraded(parsed, source.info, decision.maxSize, limits) : resolveRequest(parsed, source.info, limits);
}

/** The JPEG of one page, rendered as the image route renders it, through the one gate (ImageService.withSource). */
export function renderPage(build: PdfBuild, identifier: string): Promise<{ jpeg: Buffer; size: Dimensions }> {
  return build.images.withSource(identifier, build.credentials, async (source, granted) => {
    if (build.requireFullAccess && granted.protected) throw new PdfAccessError(`page '${identifier}': access is ${granted.policy.access}; a static PDF holds open images only`);
    const request = pageRequest(source, granted.decision, build.longest, build.limits);
    return { jpeg: await renderRequest(build.images, source, request), size: request.size };
  });
}

/** A page the static export may not put into a PDF. */
export class PdfAccessError extends Error {
  override name = 'PdfAccessError';
}

/**
 * Writes the PDF of an object to `out`, one page after the other: a page is rendered, written and
 * dropped before the next is rendered, so a 1,000-page object costs the memory of one page.
 */
export async function writeObjectPdf(object: PdfObject, build: PdfBuild, out: Writable): Promise<void> {
  // Loaded with the first PDF: pdfkit and its fonts are ~0.1 s of CPU that every server start paid.
  const { PdfWriter } = await import('./writer.js');
  const writer = new PdfWriter(out, object);
  for (const page of object.pages) {
    const { jpeg, size } = await renderPage(build, page.identifier);
    await writer.addPage({ jpeg, size, lines: build.text(page.identifier), canvas: page });
    build.onPage?.();
  }
  await writer.end();
}
