import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { parseImageRequest } from '../image-api/grammar.js';
import { MEDIA_TYPES, type ApiVersion, type ImageRequest } from '../image-api/request.js';
import { resolveRequest } from '../image-api/resolve.js';
import { canonicalPath } from '../image-api/canonical.js';
import { readStoredTile, type StoredTile } from '../imaging/passthrough.js';
import { planRequest } from '../imaging/plan.js';
import type { ImageSource } from '../imaging/source.js';
import type { PublicBaseUrl } from './base-url.js';
import { CORS_GET_HEADERS } from './cors.js';
import { clientCopyIsCurrent, etagFor } from './http-cache.js';
import type { Granted, ImageService } from './image-service.js';
import type { Metrics } from './metrics.js';
import { viewOf } from './raw-request.js';
import { imageLink } from './routes/image-api.js';

export interface TileFastPathOptions {
  readonly images: ImageService;
  readonly publicUrl: PublicBaseUrl;
  readonly cacheControl: string;
  readonly metrics: Metrics | undefined;
  /** The logger access log lines go to, when --access-log is on. */
  readonly accessLog: Logger | undefined;
  /** Fastify's request-id generator (the `genReqId` it was given): ids stay unique across both paths. */
  readonly requestId: (request: IncomingMessage) => string;
}

/** A stored tile to send, and the lease on its open source (released once it is sent, or handed over). */
interface TileLease {
  readonly source: ImageSource;
  readonly planned: { readonly source: ImageSource; readonly resolved: ImageRequest; readonly stored: StoredTile };
  release(): void;
}

type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** Thrown by the credentials the fast path gives the gate: the image is protected, Fastify's route (which reads credentials) answers. */
const PROTECTED = Symbol('protected image');

const SLASH = 47;

/**
 * The stored-tile answer without Fastify: `GET /iiif/{2,3}/{identifier}/{region}/{size}/{rotation}/{quality}.{format}`
 * of an open image, whose answer is a stored JPEG tile sent as it is (passthrough, the deep-zoom
 * case), is answered here, before Fastify's routing, hooks and reply machinery, which cost more than
 * the tile itself. The answer is the route's (routes/image-api.ts) byte for byte and header for
 * header: the same gate (ImageService's, which withSource uses), resolution, canonical Link, ETag/304, CORS,
 * Cache-Control and Vary; counted in /metrics and written to the access log alike. Anything else
 * (another method, a query string, a protected image, an error of any kind, a request that is not a
 * stored tile, an image not open yet, a server closing) goes to Fastify untouched, which answers it
 * as it always has: the fast path looks at open sources only (ImageService.leaseOpenSource, at
 * once, without waiting), so what it hands over is looked up, opened and counted once, by the route.
 */
export class TileFastPath {
  /** Answers sent by the fast path, and requests handed to Fastify after a look (for tests and debugging). */
  readonly stats = { served: 0, handedOver: 0 };
  private closing = false;

  constructor(private readonly options: TileFastPathOptions) {}

  /** Puts the fast path in front of Fastify's request handler on the app's server. */
  install(app: FastifyInstance): void {
    const server = app.server;
    const [fastify, ...others] = server.listeners('request') as NodeHandler[];
    if (!fastify || others.length > 0) throw new Error('tile fast path: expected Fastify as the only request listener');
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
    const segments = url.slice(8).split('/');
    if (segments.length !== 5) return false;
    const [identifier, region, size, rotation, qualityFormat] = url.includes('%') ? decoded(segments) ?? [] : segments;
    if (!identifier || region === undefined || size === undefined || rotation === undefined || qualityFormat === undefined) return false;
    const start = performance.now();
    const bytesBefore = request.socket.bytesWritten;
    let lease: TileLease | undefined;
    try {
      lease = this.lease(version, identifier, region, size, rotation, qualityFormat);
    } catch {
      lease = undefined;
    }
    if (!lease) {
      this.stats.handedOver++;
      return false;
    }
    const { source, planned, release } = lease;
    this.storedTile(request, response, version, identifier, source, planned.resolved, planned.stored, start, bytesBefore)
      .catch(() => false)
      .then((answered) => {
        release();
        if (!answered) this.handOver(request, response, fastify);
      });
    return true;
  }

  private handOver(request: IncomingMessage, response: ServerResponse, fastify: NodeHandler): void {
    this.stats.handedOver++;
    fastify(request, response);
  }

  /**
   * The stored tile a request names, on a lease of its open source, through the gate; undefined (or
   * a throw: bad syntax, a protected image, an unknown identifier) when the route is to answer.
   */
  private lease(version: ApiVersion, identifier: string, region: string, size: string, rotation: string, qualityFormat: string): TileLease | undefined {
    const parsed = parseImageRequest(version, region, size, rotation, qualityFormat);
    const { images } = this.options;
    const credentials = (): never => {
      throw PROTECTED;
    };
    // The plan made while looking at the open source, the one the lease holds.
    let planned: TileLease['planned'] | undefined;
    const wanted = (source: ImageSource, granted: Granted): boolean => {
      if (granted.protected || granted.decision.kind !== 'allow') return false;
      const resolved = resolveRequest(parsed, source.info, images.limits);
      const plan = planRequest(source, resolved, images.native, images.jp2.decodesArea);
      if (!plan.stored || plan.heavy) return false;
      planned = { source, resolved, stored: plan.stored };
      return true;
    };
    const lease = images.leaseOpenSource(identifier, credentials, wanted);
    if (!lease || planned?.source !== lease.source) {
      lease?.release();
      return undefined;
    }
    return { source: lease.source, planned, release: lease.release };
  }

  private async storedTile(
    request: IncomingMessage,
    response: ServerResponse,
    version: ApiVersion,
    identifier: string,
    source: ImageSource,
    resolved: ImageRequest,
    stored: StoredTile,
    start: number,
    bytesBefore: number,
  ): Promise<boolean> {
    const { images, publicUrl, cacheControl } = this.options;
    const canonical = canonicalPath(resolved, source.info, images.limits, version);
    const { base, vary } = publicUrl.ofRaw(request);
    const etag = etagFor(source.version, canonical);
    // In the order the route's hooks and reply set them.
    const headers: Record<string, string | number> = {};
    for (const [name, value] of CORS_GET_HEADERS) headers[name] = value;
    if (vary !== undefined) headers.vary = vary;
    headers.link = imageLink(`${base}/iiif/${version}/${encodeURIComponent(identifier)}`, canonical, version);
    headers.etag = etag;
    headers['last-modified'] = source.modified.toUTCString();
    headers['cache-control'] = cacheControl;
    if (clientCopyIsCurrent(request.headers, etag, source.modified)) return this.send(request, response, 304, headers, undefined, start, bytesBefore);
    const body = await readStoredTile(source, stored, images.native).catch(() => undefined);
    // Unreadable: the route decodes the request instead.
    if (!body) return false;
    images.counters.rendered('passthrough');
    headers['content-type'] = MEDIA_TYPES[resolved.format];
    headers['content-length'] = body.byteLength;
    return this.send(request, response, 200, headers, body, start, bytesBefore);
  }

  private send(
    request: IncomingMessage,
    response: ServerResponse,
    status: number,
    headers: Record<string, string | number>,
    body: Buffer | undefined,
    start: number,
    bytesBefore: number,
  ): boolean {
    try {
      response.writeHead(status, headers);
    } catch {
      // A header Node refuses (a Host with characters it will not send back): Fastify answers as it does.
      return false;
    }
    response.end(body);
    this.stats.served++;
    response.once('finish', () => this.finished(request, status, start, bytesBefore));
    return true;
  }

  /** What the metrics and access-log hooks do for Fastify's requests (metrics.ts, access-log.ts). */
  private finished(request: IncomingMessage, status: number, start: number, bytesBefore: number): void {
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

/** The path segments percent-decoded as the route decodes them; undefined when one is malformed (Fastify then refuses it). */
function decoded(segments: string[]): string[] | undefined {
  try {
    return segments.map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
}
