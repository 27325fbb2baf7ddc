import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import { AccessControl } from '../auth/access-control.js';
import { loadSecret } from '../auth/secret.js';
import { UsersFile } from '../auth/users.js';
import { authRoutes } from './routes/auth.js';
import { ConfigError } from '../config/load.js';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ServeConfig } from '../config/schema.js';
import { CORS_OPTIONS } from './cors.js';
import { malformedUrlMessage } from './bad-url.js';
import { PublicBaseUrl } from './base-url.js';
import { answerClientError } from './client-errors.js';
import { neverCacheErrors } from './http-cache.js';
import { accessLogPlugin } from './access-log.js';
import { ImageService } from './image-service.js';
import { changeDiscoveryRoutes } from './routes/change-discovery.js';
import { Metrics, metricsPlugin } from './metrics.js';
import { trackRouteKinds } from './route-kind.js';
import { ImageFastPath } from './image-fast-path.js';
import { healthRoutes } from './routes/health.js';
import { homeRoutes } from './routes/home.js';
import { imageApiRoutes } from './routes/image-api.js';
import { ingestApiRoutes } from './routes/ingest-api.js';
import { IngestService } from '../ingest/service.js';
import { presentationRoutes } from './routes/presentation.js';
import { pdfRoutes, type PdfStats } from './routes/pdf.js';
import { searchRoutes } from './routes/search.js';
import { SearchStore } from '../search/store.js';
import { viewerRoutes } from './routes/viewers.js';
import { webAssetRoutes } from './routes/web-assets.js';
import { PresentationStore } from '../presentation/store.js';
import { catalogLocation, openCatalogSource } from '../catalog/open.js';
import { WebAssets } from '../web/assets.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The ingest service (with --masters and --data), for whatever queues object folders besides the API (the folder watcher). */
    ingest: IngestService | null;
    /** The image fast path in front of Fastify (null when off: see BuildOptions). */
    imageFastPath: ImageFastPath | null;
  }
}

export interface BuildOptions {
  /**
   * Stored tiles and cheap renders of open images answered before Fastify (image-fast-path.ts); on
   * by default. Off in the tests that compare its answers with the route's. Always off at debug and
   * trace levels, where the route logs each request's plan.
   */
  readonly imageFastPath?: boolean;
  /** What the fast path keeps prepared, in stored tiles' worth (tests of its bound; see image-fast-path.ts). */
  readonly imageFastPathPreparedMax?: number;
}

/** Fastify's default request ids (`req-1`, `req-2`, … in base 36), shared with the image fast path so that ids stay unique. */
function requestIds(): () => string {
  let next = 0;
  return () => {
    next = (next + 1) & 0x7fffffff;
    return `req-${next.toString(36)}`;
  };
}

/** Builds the HTTP application (not listening yet), so tests and the CLI share one wiring. */
export async function buildApp(config: ServeConfig, logger: Logger, options: BuildOptions = {}): Promise<FastifyInstance> {
  // The ingest service (a worker converting queued object folders, and the API that queues them)
  // first: it makes the data folder's images/ that an empty data folder lacks.
  const ingest = config.masters !== undefined && config.data !== undefined ? await IngestService.open({ ...config, masters: config.masters, data: config.data }, logger) : undefined;
  const metrics = config.metrics === 'on' ? new Metrics() : undefined;
  // One connection (or pool) to the catalog for the image and manifest services alike.
  const catalog = config.data !== undefined ? await openCatalogSource(catalogLocation(config.data, config.catalog, config.catalogSchema)) : undefined;
  const images = await ImageService.create(config, metrics?.imaging, catalog);
  const https =
    config.tlsKey && config.tlsCert ? { key: readFileSync(config.tlsKey), cert: readFileSync(config.tlsCert) } : null;
  const genReqId = requestIds();
  const app = Fastify({
    loggerInstance: logger,
    genReqId,
    // Fastify's two lines per request are replaced by the access log's one (--access-log).
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.trustProxy,
    // Identifiers carry encoded slashes; the Image API routes decode segments themselves.
    routerOptions: { ignoreDuplicateSlashes: false },
    // Errors raised before routing (malformed percent-encoding) skip the hooks: keep them plain
    // text with the CORS header like every other response (the `cors` feature is advertised).
    frameworkErrors: (error, request, reply) => {
      const status = error.statusCode ?? 400;
      const message = error.code === 'FST_ERR_BAD_URL' ? malformedUrlMessage(request.raw.url ?? '') : error.message;
      const body = `${status} ${message}\n`;
      reply.raw
        .writeHead(status, {
          'Content-Type': 'text/plain; charset=utf-8',
          'Content-Length': Buffer.byteLength(body),
          'Access-Control-Allow-Origin': '*',
          'Cache-Control': 'no-store',
        })
        .end(body);
    },
    clientErrorHandler: answerClientError,
    ...(https ? { https } : {}),
  }) as unknown as FastifyInstance;
  neverCacheErrors(app);
  trackRouteKinds(app);
  if (config.accessLog === 'on') await app.register(accessLogPlugin);
  if (metrics) {
    metrics.watchImages(images);
    if (ingest) metrics.watchIngest(ingest.queue);
    await app.register(metricsPlugin, { metrics, token: config.metricsToken });
  }
  await app.register(cors, { ...CORS_OPTIONS, methods: [...CORS_OPTIONS.methods], exposedHeaders: [...CORS_OPTIONS.exposedHeaders] });
  await app.register(healthRoutes, {
    jp2Decoder: images.jp2.kind,
    heavyRenders: () => ({ ...images.heavy.load, concurrency: images.heavy.concurrency, queue: images.heavy.maxWaiting }),
    storage: () => images.storageStats(),
  });
  const publicUrl = new PublicBaseUrl(config.baseUrl, config.trustProxy);
  // Authorisation (src/auth): who a request is, read once per request by the one gate in ImageService.
  const secret = await loadSecret(config.authSecret, config.data);
  await app.register(cookie, { secret });
  let access: AccessControl;
  try {
    access = new AccessControl({
      secret,
      users: config.data !== undefined ? UsersFile.inData(config.data) : undefined,
      kioskRanges: config.kioskRanges,
      externalAuthHeader: config.externalAuthHeader,
      sessionHours: config.sessionHours,
      tokenSeconds: config.tokenSeconds,
      loginRateLimit: config.loginRateLimit,
    });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  await app.register(imageApiRoutes, { images, publicUrl, cacheControl: config.cacheControl, access });
  await app.register(authRoutes, { images, access, publicUrl, clickthroughTerms: config.clickthroughTerms });
  const store = config.data !== undefined ? new PresentationStore(config.data, config.collectionLabel, catalog) : undefined;
  const search = store ? new SearchStore(store.catalogFile) : undefined;
  // The web pages and viewers, when `npm run build` has bundled them.
  const assets = WebAssets.load();
  await app.register(homeRoutes, { store, imagesDir: config.images, imageSize: (id) => images.dimensions(id).catch(() => undefined), publicUrl, assets, search });
  await app.register(viewerRoutes, { publicUrl, assets });
  if (assets) await app.register(webAssetRoutes);
  app.decorate('ingest', ingest ?? null);
  app.addHook('onReady', async () => ingest?.start());
  await app.register(ingestApiRoutes, {
    token: config.apiToken,
    ingest,
    publicUrl,
  });
  app.addHook('onClose', async () => {
    await ingest?.stop();
    await store?.close();
    search?.close();
    await images.close();
  });
  // The collection tree (every object's label) is built before the first request, not during it.
  app.addHook('onReady', async () => {
    await store?.tree();
  });
  await app.register(presentationRoutes, { store, search, publicUrl, limits: images.limits, onCacheLookup: metrics && ((hit) => metrics.manifestLookup(hit)) });
  await app.register(searchRoutes, { store, search, publicUrl });
  const pdfStats: PdfStats = { completed: 0, failed: 0, pages: 0 };
  await app.register(pdfRoutes, {
    store,
    search,
    images,
    publicUrl,
    access,
    size: config.pdfSize,
    maxSize: config.pdfMaxSize,
    concurrency: config.pdfConcurrency,
    queue: config.pdfQueue,
    stats: pdfStats,
  });
  if (metrics) {
    metrics.addCounter('vitrine_pdfs_total', 'PDFs of objects sent whole (/iiif/pdf/)', () => pdfStats.completed);
    metrics.addCounter('vitrine_pdfs_failed_total', 'PDFs cut short after their headers were sent (the reader left, or a page failed)', () => pdfStats.failed);
    metrics.addCounter('vitrine_pdf_pages_total', 'Pages written into PDFs', () => pdfStats.pages);
  }
  await app.register(changeDiscoveryRoutes, { store, publicUrl, pageSize: config.activityPageSize });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).type('text/plain; charset=utf-8').send(`404 no route for ${request.method} ${request.url}\n`);
  });
  const fastPath =
    options.imageFastPath !== false && !['debug', 'trace'].includes(logger.level)
      ? new ImageFastPath({ images, publicUrl, cacheControl: config.cacheControl, metrics, accessLog: config.accessLog === 'on' ? logger : undefined, requestId: genReqId, preparedMax: options.imageFastPathPreparedMax })
      : null;
  fastPath?.install(app);
  app.decorate('imageFastPath', fastPath);
  return app;
}
