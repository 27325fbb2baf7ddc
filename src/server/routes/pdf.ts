import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessControl } from '../../auth/access-control.js';
import { ANONYMOUS, type Credentials } from '../../auth/gate.js';
import { badRequest, BusyError, IiifError, notFound } from '../../image-api/errors.js';
import { firstValue, objectLabel } from '../../presentation/model.js';
import type { PresentationStore } from '../../presentation/store.js';
import { pageRequest, writeObjectPdf, type PdfObject } from '../../pdf/object-pdf.js';
import type { SearchStore } from '../../search/store.js';
import { RenderQueue } from '../admission.js';
import type { PublicBaseUrl } from '../base-url.js';
import { addVary, etagFor, notModified } from '../http-cache.js';
import type { ImageService } from '../image-service.js';
import { answerErrorsAsText, pathAfter } from './json-routes.js';

export interface PdfRouteOptions {
  readonly store: PresentationStore | undefined;
  readonly search: SearchStore | undefined;
  readonly images: ImageService;
  readonly publicUrl: PublicBaseUrl;
  readonly access?: AccessControl | undefined;
  /** Longest side of pages without ?size=, and the largest ?size= allowed. */
  readonly size: number;
  readonly maxSize: number;
  /** PDF builds at once and waiting. */
  readonly concurrency: number;
  readonly queue: number;
  /** Counted into as PDFs are built (metrics). */
  readonly stats: PdfStats;
}

/** What the PDF route has done since start (metrics). */
export interface PdfStats {
  /** PDFs sent whole. */
  completed: number;
  /** PDFs cut short (the reader went away, or a page failed). */
  failed: number;
  /** Pages written, in every PDF. */
  pages: number;
}

export const PDF_PREFIX = '/iiif/pdf/';

/** A PDF depends on the catalog and on who asks, like the manifest; a 304 costs one catalog read. */
const OPEN_CACHE_CONTROL = 'public, no-cache';
const PROTECTED_CACHE_CONTROL = 'private, no-cache';

/** `?size=`: the longest side of the pages, within 100..maxSize. */
function sizeOf(request: FastifyRequest, fallback: number, maxSize: number): number {
  const raw = (request.query as Record<string, unknown>).size;
  if (raw === undefined) return fallback;
  const text = Array.isArray(raw) ? String(raw[0]) : String(raw);
  const size = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(size >= 100 && size <= maxSize)) throw badRequest(`size '${text}': give the longest side of the pages in pixels, from 100 to ${maxSize}`);
  return size;
}

/**
 * GET /iiif/pdf/{object}[?size=N]: the object's pages as one PDF, N px on their longest side, with
 * their OCR text as an invisible layer. Streamed as it is built (a page rendered, written, dropped),
 * through the access gate page by page: a degraded object gives its degraded sizes, a restricted one
 * a 401 as its images do. Builds are heavy: at most `concurrency` at once, `queue` waiting, then 503.
 */
export async function pdfRoutes(app: FastifyInstance, options: PdfRouteOptions): Promise<void> {
  const { stats } = options;
  const builds = new RenderQueue(options.concurrency, options.queue, undefined, { work: 'PDF builds', concurrency: '--pdf-concurrency', queue: '--pdf-queue', hint: '' });

  app.get(`${PDF_PREFIX}*`, async (request: FastifyRequest, reply: FastifyReply) => {
    const id = pathAfter(request, PDF_PREFIX);
    if (id === '') throw notFound('no object id given: /iiif/pdf/{object id}');
    const longest = sizeOf(request, options.size, options.maxSize);
    const store = options.store;
    if (!store) throw notFound('PDFs are served for a converted data folder: start with --data DIR (the output of vitrine convert)');
    const found = await store.manifestSource(id);
    if (!found) {
      if (await store.isWithdrawn(id)) throw new IiifError(410, `object '${id}' was withdrawn`);
      throw notFound(`no object '${id}' with pages in the catalog`);
    }
    const { source } = found;
    const base = options.publicUrl.of(request, reply);
    const credentials = (): Credentials => options.access?.credentialsOf(request, new URL(base).origin) ?? ANONYMOUS;
    // The gate before the first byte: a restricted object is a 401 here, not a broken download.
    const first = source.pages[0]!;
    const view = await options.images.withSource(first.identifier, credentials, (image, granted) => {
      // Resolved as the pages will be: a size the gate refuses is a 401 now.
      pageRequest(image, granted.decision, longest, options.images.limits);
      return { protected: granted.protected, key: granted.decision.kind === 'degrade' ? `degraded ${granted.decision.maxSize}` : 'full' };
    });
    if (view.protected) addVary(reply, 'Cookie', 'Authorization');
    const etag = etagFor(found.version, id, String(longest), view.key, 'pdf');
    if (notModified(request, reply, etag, found.modified, view.protected ? PROTECTED_CACHE_CONTROL : OPEN_CACHE_CONTROL)) return reply;
    const name = id.split('/').pop() || 'object';
    const pdfHeaders = (): FastifyReply =>
      reply.type('application/pdf').header('Content-Disposition', `inline; filename="${name.replace(/[^\w.-]+/g, '_')}.pdf"; filename*=UTF-8''${encodeURIComponent(name)}.pdf`);
    if (request.method === 'HEAD') return pdfHeaders().send();

    const object: PdfObject = {
      title: firstValue(objectLabel(source.object, source.metadata)),
      modified: found.modified,
      pages: source.pages.map((p) => ({ identifier: p.identifier, width: p.width, height: p.height })),
    };
    const text = options.search?.index();
    const gone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableEnded) gone.abort(new BusyError(1, 'the client closed the connection while its PDF was waiting'));
    });
    // Waiting for a slot happens before the headers are sent: a full queue is still a clean 503.
    const build = builds.run(async () => {
      const out = new PassThrough();
      pdfHeaders().send(out);
      try {
        await writeObjectPdf(object, { images: options.images, longest, limits: options.images.limits, credentials, text: (page) => text?.lines(page) ?? [], onPage: () => stats.pages++ }, out);
        stats.completed++;
      } catch (error) {
        stats.failed++;
        // The headers are sent: the download is cut (the reader sees an incomplete file), and logged.
        if (!reply.raw.destroyed) request.log.error({ err: error, object: id }, 'PDF build failed');
        out.destroy(error as Error);
      }
    }, gone.signal);
    try {
      await build;
    } catch (error) {
      if (!(error instanceof BusyError)) throw error;
      // Expected under load, so not logged (as the image routes' 503s); says when to come back.
      return reply.code(503).header('Retry-After', String(error.retryAfterSeconds)).type('text/plain; charset=utf-8').send(`503 ${error.message}\n`);
    }
    return reply;
  });

  answerErrorsAsText(app);
}
