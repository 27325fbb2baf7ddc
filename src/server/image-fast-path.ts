import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { parseImageRequest } from '../image-api/grammar.js';
import { MEDIA_TYPES, type ApiVersion, type ImageRequest } from '../image-api/request.js';
import { resolveRequest } from '../image-api/resolve.js';
import { canonicalPath } from '../image-api/canonical.js';
import { render, type RenderGeometry } from '../imaging/executor.js';
import { readStoredTile, storedTileNow, type StoredTile } from '../imaging/passthrough.js';
import { planRequest, type Strategy } from '../imaging/plan.js';
import type { ImageSource } from '../imaging/source.js';
import type { PublicBaseUrl } from './base-url.js';
import { CORS_GET_HEADERS } from './cors.js';
import { clientCopyIsCurrent, etagFor } from './http-cache.js';
import type { Granted, ImageService } from './image-service.js';
import type { Metrics } from './metrics.js';
import { viewOf } from './raw-request.js';
import { imageLink } from './routes/image-api.js';

export interface ImageFastPathOptions {
  readonly images: ImageService;
  readonly publicUrl: PublicBaseUrl;
  readonly cacheControl: string;
  readonly metrics: Metrics | undefined;
  /** The logger access log lines go to, when --access-log is on. */
  readonly accessLog: Logger | undefined;
  /** Fastify's request-id generator (the `genReqId` it was given): ids stay unique across both paths. */
  readonly requestId: (request: IncomingMessage) => string;
  /** Prepared answers kept, in stored tiles' worth (default PREPARED_MAX; smaller in tests). */
  readonly preparedMax?: number | undefined;
}

/**
 * What the fast path worked out for one image URL on one open source: the stored tile that answers
 * it, or what a cheap render reads, and the headers that depend only on the two. Kept (PREPARED_MAX
 * of them) so that the next request for the same URL, while the same source is open, does none of
 * the parsing, planning, canonical form or ETag digest again; the gate still decides every request.
 */
interface PreparedAnswer {
  readonly source: ImageSource;
  readonly version: ApiVersion;
  readonly identifier: string;
  readonly resolved: ImageRequest;
  /** The stored tile sent as it is (passthrough)… */
  readonly stored?: StoredTile | undefined;
  /** …or else, for a cheap render (never heavy: those wait in the route's queue), what it reads and how. */
  readonly render?: { readonly geometry: RenderGeometry; readonly strategy: Strategy } | undefined;
  readonly canonical: string;
  readonly etag: string;
  readonly lastModified: string;
  /** The Link header for the last base URL it was made for (one per server, or per Host without --base-url). */
  link?: { readonly base: string; readonly value: string };
}

/**
 * How much prepared work is kept, in stored tiles' worth (a few hundred bytes each): all is dropped
 * when there is more. A cheap render's plan (up to some 25 stored tiles' placements, ~2 KB) counts
 * as RENDER_WEIGHT of them, so that random regions from a crawler hold no more memory than tiles.
 */
const PREPARED_MAX = 20_000;
export const RENDER_WEIGHT = 8;

type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** One request the fast path has taken: what answering it, or handing it to Fastify, needs. */
interface Exchange {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  /** Fastify's handler, which answers what the fast path hands over. */
  readonly fastify: NodeHandler;
  readonly prepared: PreparedAnswer;
  /** The route's headers for this answer; Content-Type and Length are added with a body. */
  readonly headers: Record<string, string | number>;
  /** When the request was taken (performance.now()), and the socket's bytes written before it: for metrics and the access log. */
  readonly start: number;
  readonly bytesBefore: number;
}

/** Thrown by the credentials the fast path gives the gate: the image is protected, Fastify's route (which reads credentials) answers. */
const PROTECTED = Symbol('protected image');
const credentialsOfTheRoute = (): never => {
  throw PROTECTED;
};

/** Whether the gate let the tile out to anyone: an open image, allowed whole. */
const isOpen = (granted: Granted): boolean => !granted.protected && granted.decision.kind === 'allow';

const SLASH = 47;

/**
 * Image requests of open images without Fastify: `GET /iiif/{2,3}/{identifier}/{region}/{size}/{rotation}/{quality}.{format}`
 * of an open image, whose answer is a stored JPEG tile sent as it is (passthrough, the deep-zoom
 * case) or a cheap render (a few stored tiles decoded, e.g. the edge tiles a viewer asks one pixel
 * larger than the stored level), is answered here, before Fastify's routing, hooks and reply
 * machinery, which cost more than a stored tile and a third of such a render. The answer is the
 * route's (routes/image-api.ts) byte for byte and header for header: the same gate (ImageService's,
 * which withSource uses), resolution, plan and render, canonical Link, ETag/304, CORS,
 * Cache-Control and Vary; counted in /metrics and written to the access log alike. Anything else
 * (another method, a query string, a protected image, an error of any kind, a heavy request, which
 * waits in the route's bounded queue, an image not open yet, a server closing) goes to Fastify
 * untouched, which answers it as it always has: the fast path looks at open sources only
 * (ImageService.leaseOpenSource, at once, without waiting), so what it hands over is looked up,
 * opened and counted once, by the route.
 */
export class ImageFastPath {
  /** Answers sent by the fast path, and requests handed to Fastify after a look (for tests and debugging). */
  readonly stats = { served: 0, handedOver: 0 };
  private closing = false;
  /** Prepared answers by open source (gone with it) and image URL; PREPARED_MAX stored tiles' worth in all. */
  private tables = new WeakMap<ImageSource, Map<string, PreparedAnswer>>();
  private preparedCount = 0;
  private readonly preparedMax: number;

  constructor(private readonly options: ImageFastPathOptions) {
    this.preparedMax = options.preparedMax ?? PREPARED_MAX;
  }

  /** Prepared answers kept, in stored tiles' worth (a cheap render counts RENDER_WEIGHT): never above the bound. */
  get prepared(): number {
    return this.preparedCount;
  }

  /** Puts the fast path in front of Fastify's request handler on the app's server. */
  install(app: FastifyInstance): void {
    const server = app.server;
    const [fastify, ...others] = server.listeners('request') as NodeHandler[];
    if (!fastify || others.length > 0) throw new Error('image fast path: expected Fastify as the only request listener');
    server.removeListener('request', fastify);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      if (!this.take(request, response, fastify)) fastify(request, response);
    });
    // Closing, Fastify answers new requests on open connections with a 503: it sees them all again.
    app.addHook('preClose', async () => {
      this.closing = true;
    });
  }

  /** Whether the request is the fast path's to try (it then answers, or hands it to `fastify` itself). */
  private take(request: IncomingMessage, response: ServerResponse, fastify: NodeHandler): boolean {
    const url = request.url;
    if (this.closing || request.method !== 'GET' || url === undefined || !url.startsWith('/iiif/') || url.charCodeAt(7) !== SLASH) return false;
    const version: ApiVersion | undefined = url[6] === '3' ? 3 : url[6] === '2' ? 2 : undefined;
    if (version === undefined || url.includes('?')) return false;
    const identifier = imageRequestIdentifier(url);
    if (identifier === undefined) return false;
    const start = performance.now();
    let lease: { prepared: PreparedAnswer; release: () => void } | undefined;
    try {
      lease = this.lease(url, version, identifier);
    } catch {
      lease = undefined;
    }
    if (!lease) {
      this.stats.handedOver++;
      return false;
    }
    const { prepared, release } = lease;
    const exchange: Exchange = {
      request,
      response,
      fastify,
      prepared,
      headers: this.headers(request, prepared),
      start,
      bytesBefore: request.socket.bytesWritten,
    };
    if (clientCopyIsCurrent(request.headers, prepared.etag, prepared.source.modified)) {
      release();
      if (!this.send(exchange, 304, undefined)) this.handOver(exchange);
      return true;
    }
    const { stored } = prepared;
    if (!stored) {
      // A cheap render: the route's own (executor.render, the same plan), off the JavaScript thread.
      this.answerLater(exchange, release, () => this.draw(prepared));
      return true;
    }
    let body: Buffer | undefined;
    try {
      body = storedTileNow(prepared.source, stored, this.options.images.native);
    } catch {
      // Unreadable: the route decodes the request instead.
      release();
      this.handOver(exchange);
      return true;
    }
    if (body) {
      release();
      if (!this.sendImage(exchange, body)) this.handOver(exchange);
      return true;
    }
    // Storage that cannot read at once (an object in S3): the same, after the read.
    this.answerLater(exchange, release, () => readStoredTile(prepared.source, stored, this.options.images.native));
    return true;
  }

  /** What the route renders for a prepared request that is not a stored tile (RenderPlan.geometry). */
  private draw(prepared: PreparedAnswer): Promise<Buffer> {
    const { images } = this.options;
    return render(prepared.source, prepared.resolved, images.render, images.native, images.jp2, prepared.render!.geometry);
  }

  /**
   * Sends what `produce` makes, the source's lease held until then; any failure goes to the route,
   * which does the work again and answers as it always has (the error included).
   */
  private answerLater(exchange: Exchange, release: () => void, produce: () => Promise<Buffer | undefined>): void {
    produce()
      .catch(() => undefined)
      .then((body) => {
        release();
        if (!body || !this.sendImage(exchange, body)) this.handOver(exchange);
      });
  }

  private handOver({ request, response, fastify }: Exchange): void {
    this.stats.handedOver++;
    fastify(request, response);
  }

  /**
   * What an image URL names (a stored tile, or a cheap render's plan), prepared (or taken as
   * prepared before) on a lease of its open source, through the gate; undefined (or a throw: an
   * unknown identifier, a protected image, a heavy request) when the route is to answer.
   */
  private lease(url: string, version: ApiVersion, identifier: string): { prepared: PreparedAnswer; release: () => void } | undefined {
    let prepared: PreparedAnswer | undefined;
    const wanted = (source: ImageSource, granted: Granted): boolean => {
      if (!isOpen(granted)) return false;
      prepared = this.tables.get(source)?.get(url) ?? this.prepare(url, version, identifier, source);
      return prepared !== undefined;
    };
    const lease = this.options.images.leaseOpenSource(identifier, credentialsOfTheRoute, wanted);
    if (!lease || !prepared || prepared.source !== lease.source) {
      lease?.release();
      return undefined;
    }
    return { prepared, release: lease.release };
  }

  /**
   * Works out the answer to an image URL on an open source, and keeps it with the source: undefined
   * when it is heavy (bad syntax included: the route says what is wrong).
   */
  private prepare(url: string, version: ApiVersion, identifier: string, source: ImageSource): PreparedAnswer | undefined {
    const segments = url.slice(8).split('/');
    const [, region, size, rotation, qualityFormat] = url.includes('%') ? decoded(segments) ?? [] : segments;
    if (region === undefined || size === undefined || rotation === undefined || qualityFormat === undefined) return undefined;
    const { images } = this.options;
    let resolved: ImageRequest;
    try {
      resolved = resolveRequest(parseImageRequest(version, region, size, rotation, qualityFormat), source.info, images.limits);
    } catch {
      return undefined;
    }
    const plan = planRequest(source, resolved, images.native, images.jp2.decodesArea);
    // Heavy work waits its turn in the route's bounded queue; the fast path answers only what never waits.
    if (plan.heavy || (!plan.stored && !plan.geometry)) return undefined;
    const canonical = canonicalPath(resolved, source.info, images.limits, version);
    const prepared: PreparedAnswer = {
      source,
      version,
      identifier,
      resolved,
      stored: plan.stored,
      render: plan.stored ? undefined : { geometry: plan.geometry!, strategy: plan.strategy },
      canonical,
      etag: etagFor(source.version, canonical),
      lastModified: source.modified.toUTCString(),
    };
    const weight = prepared.render ? RENDER_WEIGHT : 1;
    if (this.preparedCount + weight > this.preparedMax) {
      this.tables = new WeakMap();
      this.preparedCount = 0;
    }
    let table = this.tables.get(source);
    if (!table) this.tables.set(source, (table = new Map()));
    table.set(url, prepared);
    this.preparedCount += weight;
    return prepared;
  }

  /** The route's headers for a tile (its hooks' and reply's, in their order), Content-Type and Length aside. */
  private headers(request: IncomingMessage, prepared: PreparedAnswer): Record<string, string | number> {
    const { base, vary } = this.options.publicUrl.ofRaw(request);
    let link = prepared.link;
    if (link?.base !== base) {
      link = { base, value: imageLink(`${base}/iiif/${prepared.version}/${encodeURIComponent(prepared.identifier)}`, prepared.canonical, prepared.version) };
      prepared.link = link;
    }
    const headers: Record<string, string | number> = {};
    for (const [name, value] of CORS_GET_HEADERS) headers[name] = value;
    if (vary !== undefined) headers.vary = vary;
    headers.link = link.value;
    headers.etag = prepared.etag;
    headers['last-modified'] = prepared.lastModified;
    headers['cache-control'] = this.options.cacheControl;
    return headers;
  }

  /** Sends an image body with its type and length; false when Node refuses the headers (the route then answers). */
  private sendImage(exchange: Exchange, body: Buffer): boolean {
    const { headers, prepared } = exchange;
    headers['content-type'] = MEDIA_TYPES[prepared.resolved.format];
    headers['content-length'] = body.byteLength;
    if (!this.send(exchange, 200, body)) return false;
    this.options.images.counters.rendered(prepared.render?.strategy ?? 'passthrough');
    return true;
  }

  private send(exchange: Exchange, status: number, body: Buffer | undefined): boolean {
    const { response } = exchange;
    try {
      response.writeHead(status, exchange.headers);
    } catch {
      // A header Node refuses (a Host with characters it will not send back): Fastify answers as it does.
      return false;
    }
    response.end(body);
    this.stats.served++;
    response.once('finish', () => this.finished(exchange, status));
    return true;
  }

  /** What the metrics and access-log hooks do for Fastify's requests (metrics.ts, access-log.ts). */
  private finished({ request, start, bytesBefore }: Exchange, status: number): void {
    const elapsedMs = performance.now() - start;
    this.options.metrics?.request('tile', status, elapsedMs / 1000);
    const log = this.options.accessLog;
    if (!log?.isLevelEnabled('info')) return;
    const agent = request.headers['user-agent'];
    log.info(
      {
        reqId: this.options.requestId(request),
        method: 'GET',
        path: request.url,
        status,
        bytes: request.socket.bytesWritten - bytesBefore,
        ms: Math.round(elapsedMs * 100) / 100,
        kind: 'tile',
        remote: viewOf(request, this.options.publicUrl.trustProxy).ip,
        agent: agent === undefined ? undefined : agent.slice(0, 200),
      },
      'request',
    );
  }
}

/**
 * The identifier of an image request URL, `/iiif/N/{identifier}/{region}/{size}/{rotation}/{quality}.{format}`,
 * percent-decoded as the route decodes it; undefined for any other form, an empty identifier or a
 * malformed percent-encoding (Fastify's to answer).
 */
function imageRequestIdentifier(url: string): string | undefined {
  const end = url.indexOf('/', 8);
  if (end <= 8) return undefined;
  let slashes = 0;
  for (let at = url.indexOf('/', end + 1); at !== -1; at = url.indexOf('/', at + 1)) slashes++;
  if (slashes !== 3) return undefined;
  const raw = url.slice(8, end);
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw) || undefined;
  } catch {
    return undefined;
  }
}

/** The path segments percent-decoded as the route decodes them; undefined when one is malformed (Fastify then refuses it). */
function decoded(segments: string[]): string[] | undefined {
  try {
    return segments.map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
}
