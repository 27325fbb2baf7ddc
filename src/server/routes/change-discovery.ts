import compress from '@fastify/compress';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ActivityRecord } from '../../catalog/activities.js';
import { badRequest, notFound } from '../../image-api/errors.js';
import { DISCOVERY_CONTEXT } from '../../presentation/collections.js';
import { CONTEXT_3 } from '../../presentation/manifest-v3.js';
import type { PresentationStore } from '../../presentation/store.js';
import { PresentationUrls } from '../../presentation/urls.js';
import type { PublicBaseUrl } from '../base-url.js';
import { addVary, etagFor, notModified } from '../http-cache.js';
import { preferredMediaType } from '../negotiation.js';
import { answerErrorsAsText } from './json-routes.js';

export interface ChangeDiscoveryOptions {
  readonly store: PresentationStore | undefined;
  readonly publicUrl: PublicBaseUrl;
  /** Activities per page (the last page holds the rest). */
  readonly pageSize: number;
}

/** The stream changes with every conversion: caches may keep it but must revalidate, as manifests. */
const CACHE_CONTROL = 'public, no-cache';
/** Change Discovery 1.0 §4.1: JSON-LD with the Discovery context as profile, or plain JSON on request. */
const LD_JSON = `application/ld+json;profile="${DISCOVERY_CONTEXT}"`;
/** Manifests and collections are named by their 3.0 URLs, the variant the collections list (§4.3: variants, not negotiable resources). */
const PRESENTATION_3_FORMAT = `application/ld+json;profile="${CONTEXT_3}"`;

/** An activity as Change Discovery 1.0 §3.3 writes it: type, the resource (id and class), endTime. */
function activity(record: ActivityRecord, urls: PresentationUrls): Record<string, unknown> {
  const object =
    record.objectType === 'Manifest'
      ? { id: urls.manifest(record.objectId, 3), type: 'Manifest', format: PRESENTATION_3_FORMAT }
      : { id: urls.collection(record.objectId, 3), type: 'Collection', format: PRESENTATION_3_FORMAT };
  return { type: record.type, object, endTime: record.endTime };
}

const pageRef = (urls: PresentationUrls, index: number): { id: string; type: string } => ({ id: urls.changesPage(index), type: 'OrderedCollectionPage' });

/**
 * IIIF Change Discovery API 1.0 (level 2: Create, Update, Delete with endTime), read from the
 * catalog's change log, so aggregators harvest incrementally: they read the last page first and
 * walk back through `prev` until they reach what they already have.
 *
 *   /iiif/activity/all-changes   the OrderedCollection (§2.3, §3.1): totalItems, first, last
 *   /iiif/activity/page/{n}      its pages, 0-based, oldest first (§2.2, §3.2): partOf, startIndex,
 *                                prev/next, orderedItems (newest last, within and across pages)
 *
 * A catalog with no activity yet still has one page, empty, so `first` and `last` always resolve.
 */
export async function changeDiscoveryRoutes(app: FastifyInstance, options: ChangeDiscoveryOptions): Promise<void> {
  await app.register(compress, { global: true, encodings: ['br', 'gzip', 'deflate'], threshold: 1024 });
  const size = options.pageSize;

  async function stream(): Promise<NonNullable<Awaited<ReturnType<PresentationStore['changes']>>>> {
    if (!options.store) throw notFound('the change stream is served for a converted data folder: start with --data DIR (the output of vitrine convert)');
    const changes = await options.store.changes();
    if (!changes) throw notFound('the data folder has no catalog yet: run vitrine convert');
    return changes;
  }

  function send(request: FastifyRequest, reply: FastifyReply, body: Record<string, unknown>, modified: Date): void {
    const contentType = preferredMediaType(request.headers.accept, [LD_JSON, 'application/json']);
    const text = JSON.stringify(body);
    addVary(reply, 'Accept');
    if (notModified(request, reply, etagFor(contentType, text), modified, CACHE_CONTROL)) return;
    reply.type(contentType).send(text);
  }

  app.get('/iiif/activity/all-changes', async (request, reply) => {
    const changes = await stream();
    const urls = new PresentationUrls(options.publicUrl.of(request, reply));
    const pages = Math.max(1, Math.ceil(changes.total / size));
    send(
      request,
      reply,
      {
        '@context': DISCOVERY_CONTEXT,
        id: urls.changes(),
        type: 'OrderedCollection',
        totalItems: changes.total,
        first: pageRef(urls, 0),
        last: pageRef(urls, pages - 1),
      },
      changes.modified,
    );
    return reply;
  });

  app.get<{ Params: { index: string } }>('/iiif/activity/page/:index', async (request, reply) => {
    const { index: given } = request.params;
    if (!/^(0|[1-9][0-9]{0,8})$/.test(given)) throw badRequest(`page '${given}': expected a page number from 0`);
    const index = Number(given);
    const changes = await stream();
    const pages = Math.max(1, Math.ceil(changes.total / size));
    if (index >= pages) throw notFound(`page ${index}: the stream has ${pages} page${pages === 1 ? '' : 's'} (0 to ${pages - 1})`);
    const urls = new PresentationUrls(options.publicUrl.of(request, reply));
    const startIndex = index * size;
    send(
      request,
      reply,
      {
        '@context': DISCOVERY_CONTEXT,
        id: urls.changesPage(index),
        type: 'OrderedCollectionPage',
        partOf: { id: urls.changes(), type: 'OrderedCollection' },
        startIndex,
        ...(index > 0 ? { prev: pageRef(urls, index - 1) } : {}),
        ...(index < pages - 1 ? { next: pageRef(urls, index + 1) } : {}),
        orderedItems: (await changes.slice(startIndex, size)).map((a) => activity(a, urls)),
      },
      changes.modified,
    );
    return reply;
  });

  answerErrorsAsText(app);
}
