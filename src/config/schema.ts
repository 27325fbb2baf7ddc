import path from 'node:path';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { isS3Url, parseS3Url } from '../storage/s3-location.js';

const positiveInt = z.number().int().positive();
/** A switch: on/off, or a boolean in a config file or the environment (VITRINE_METRICS=false). */
const onOff = z.union([z.enum(['on', 'off']), z.boolean().transform((b) => (b ? 'on' : 'off'))], { error: 'expected on or off (or true, false)' });

/** The whole configuration of `vitrine serve`, with its defaults. Flags, env and file all land here. */
/** The settings themselves, before the cross-field rules (used to list keys for env variables). */
export const serveConfigObject = z
  .object({
    /** A folder of images, or s3://bucket/prefix for images in S3. */
    images: z.string().min(1).optional(),
    /** An output folder of `vitrine convert`: serves its images/ (and, later, its catalog). */
    data: z.string().min(1).optional(),
    /** The catalog: a SQLite file, or postgres://user@host[:port]/db[?schema=name] (default: catalog.sqlite in `data`). */
    catalog: z.string().min(1).optional(),
    /** The PostgreSQL schema the catalog's tables are in (default: the URL's ?schema=, else public). */
    catalogSchema: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'catalogSchema: letters, digits and _ (a PostgreSQL identifier)').optional(),
    /**
     * The masters root (a folder, or s3://bucket/prefix): with `data`, the ingest service converts
     * object folders under it into the data folder's images/, or into `images` when that is s3://.
     */
    masters: z.string().min(1).optional(),
    /** The bearer token of the ingest API (none: the API is disabled). Never logged. */
    apiToken: z.string().min(1).optional(),
    /** A rules file (as `vitrine convert --rules`): the ingest service takes its `variants` preference (naming rules are refused). */
    rules: z.string().min(1).optional(),
    /** Ingest jobs run at once by the server's worker (0: none here, `vitrine worker` processes run them). */
    ingestWorkers: z.number().int().min(0).default(1),
    /** The ingest queue: redis://host:port[/db] for BullMQ on Redis (shared with `vitrine worker`s); default the catalog's SQLite. */
    queue: z
      .string()
      .regex(/^rediss?:\/\/[^\s]+$/, 'queue: expected a Redis URL such as redis://127.0.0.1:6379 (or none, for the queue embedded in the catalog)')
      .optional(),
    /** The key prefix of the Redis queue: servers and workers that share a queue give the same one. */
    queuePrefix: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'queuePrefix: letters, digits, _ . - (at most 64)').default('vitrine'),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8182),
    baseUrl: z
      .string()
      .url('baseUrl: must be an absolute URL such as https://iiif.example.org')
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
    trustProxy: z.boolean().default(false),
    maxWidth: positiveInt.optional(),
    maxHeight: positiveInt.optional(),
    maxArea: positiveInt.default(25_000_000),
    maxInputPixels: positiveInt.default(500_000_000),
    jpegQuality: z.number().int().min(1).max(100).default(80),
    resampling: z.enum(['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3']).default('lanczos3'),
    cacheControl: z.string().default('public, max-age=86400'),
    /** JPEG 2000 decoder: the native OpenJPEG binding when built (auto), or the WebAssembly fallback. */
    jp2Decoder: z.enum(['auto', 'native', 'wasm']).default('auto'),
    /** Megabytes of decoded JPEG 2000 blocks kept for the neighbouring tiles (0: none). */
    jp2CacheMb: z.number().int().min(0).default(128),
    /** Expensive renders (over 1 MP, free rotations) running at once; default: cores − 1, at most UV_THREADPOOL_SIZE − 2, at least 1. */
    heavyConcurrency: positiveInt.optional(),
    /** Expensive renders waiting at most before the next gets a 503; default: max(8, 4 × heavyConcurrency). */
    heavyQueue: z.number().int().min(0).optional(),
    /** Longest side of PDF pages (/iiif/pdf/{object}) when the request names none (?size=), in pixels. */
    pdfSize: z.number().int().min(100).max(10_000).default(1500),
    /** The largest ?size= a PDF may ask. */
    pdfMaxSize: z.number().int().min(100).max(10_000).default(3000),
    /** PDFs built at once (each renders one page at a time); the next ones wait. */
    pdfConcurrency: positiveInt.default(1),
    /** PDFs waiting at most before the next gets a 503. */
    pdfQueue: z.number().int().min(0).default(4),
    sourceCacheSize: positiveInt.default(256),
    sourceCheckIntervalMs: z.number().int().min(0).default(2000),
    /** An S3-compatible store's URL (MinIO, Ceph…) for s3:// images; AWS S3 when absent. */
    s3Endpoint: z.string().url('s3Endpoint: must be a URL such as http://127.0.0.1:9000').optional(),
    s3Region: z.string().min(1).optional(),
    /** Path-style addressing (host/bucket/key): default on when s3Endpoint is given. */
    s3ForcePathStyle: z.boolean().optional(),
    /** The local cache of ranges read from S3 and of local copies (s3:// images only). */
    cacheDir: z.string().min(1).optional(),
    /** Its bound, in megabytes. */
    cacheSize: positiveInt.default(1024),
    tlsKey: z.string().optional(),
    tlsCert: z.string().optional(),
    /**
     * The top collection's label (the home page's heading): a text, or a map language → text in a
     * config file. Default: the label of the masters root's collection.yml, else 'All objects'.
     */
    collectionLabel: z
      .union([
        z.string().min(1).transform((t) => ({ none: [t] })),
        z.number().transform((n) => ({ none: [String(n)] })),
        z
          .record(z.string().regex(/^(none|[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*)$/, 'a language tag such as en or fr'), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]))
          .refine((m) => Object.keys(m).length > 0, 'give at least one language')
          .transform((m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]))),
      ], { error: "collectionLabel: expected a text, or a map of language → text such as { en: 'Letters', fr: 'Lettres' }" })
      .optional(),
    /** A masters folder to watch: objects added, changed or removed there are queued for conversion or withdrawal (needs data). */
    watch: z.string().min(1).optional(),
    /** How long every file of a changed folder must keep its size and mtime before it is queued (ms). */
    watchStable: positiveInt.default(5000),
    /** Poll the masters folder every this many ms instead of using file system events (network shares). */
    watchPoll: positiveInt.optional(),
    /** A withdrawn object's derivatives: kept on disk (a mistaken deletion costs no reconversion) or removed. */
    withdrawDerivatives: z.enum(['keep', 'remove']).default('keep'),
    /** Activities per page of the Change Discovery stream (/iiif/activity/page/{n}). */
    activityPageSize: z.number().int().min(1).max(10_000).default(100),
    /** Prometheus metrics at /metrics. */
    metrics: onOff.default('on'),
    /** When set, /metrics asks `Authorization: Bearer <token>` (prefer VITRINE_METRICS_TOKEN to the flag: flags show in `ps`). */
    metricsToken: z.string().min(16, 'metricsToken: at least 16 characters').optional(),
    /** One structured log line per request (info level). */
    accessLog: onOff.default('on'),
    /** Seconds given to requests in flight on SIGTERM/SIGINT before the server stops anyway. */
    shutdownTimeout: z.number().min(0).default(10),
    /** Server processes sharing the port (node:cluster): a number, or `auto` for one per core. */
    processes: z.union([z.literal('auto'), positiveInt]).default(1).transform((n) => (n === 'auto' ? availableParallelism() : n)),
    /**
     * Secret that signs session cookies and access tokens (at least 32 characters). Default: one
     * generated once and kept in DATA/auth-secret (mode 0600); with --images only, one per process.
     */
    authSecret: z.string().min(32, 'authSecret: at least 32 characters').optional(),
    /** IP ranges (CIDR, comma-separated or a list) whose clients meet the `kiosk` profile: the reading room. */
    kioskRanges: z
      .union([z.string().transform((t) => t.split(',').map((r) => r.trim()).filter(Boolean)), z.array(z.string().min(1))])
      .default([]),
    /** Header an SSO reverse proxy sets to the signed-in user's name (`external` profile); only trust it behind that proxy. */
    externalAuthHeader: z.string().regex(/^[A-Za-z0-9-]+$/, 'externalAuthHeader: a header name such as X-Remote-User').transform((h) => h.toLowerCase()).optional(),
    /** Hours a session (login, clickthrough, kiosk) lasts. */
    sessionHours: z.number().positive().default(8),
    /** Seconds an Auth 2.0 access token lasts. */
    tokenSeconds: positiveInt.default(3600),
    /** The text a `clickthrough` access service asks people to accept. */
    clickthroughTerms: z.string().min(1).default('These images are shown for private study and research only; do not republish them without permission.'),
    /** Login attempts allowed per client address per minute (then 429). */
    loginRateLimit: positiveInt.default(10),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export const serveConfigSchema = serveConfigObject
  .refine((c) => c.images !== undefined || c.data !== undefined, {
    message: 'images: give the folder of images to serve (--images DIR), or a converted data folder (--data DIR)',
  })
  .refine((c) => c.watch === undefined || c.data !== undefined, {
    message: 'watch: needs --data DIR too, the data folder the watched masters are converted into',
  })
  // Nothing tells a watcher what changed in a bucket: objects in S3 are queued through the ingest API.
  .refine((c) => c.watch === undefined || !isS3Url(c.watch), {
    message: 'watch: the folder watcher watches local folders only; for masters in S3 give --masters s3://… and queue object folders with the ingest API (POST /api/ingest)',
  })
  .refine((c) => c.watch === undefined || isS3Url(c.watch) || c.masters === undefined || path.resolve(c.watch) === path.resolve(c.masters), {
    message: 'watch: the watched folder is the masters root: give --watch alone, or the same folder as --masters',
  })
  // The ingest service (its job runner, folder watcher and API) must run once: refused rather than
  // elected in one of the processes, so no second copy can ever start on a restart.
  .refine((c) => c.processes === 1 || (c.masters === undefined && c.watch === undefined), {
    message: 'processes: the ingest service (--masters, --watch) runs in one process only: give --processes 1, or run it in a vitrine serve of its own',
  })
  .refine((c) => c.masters === undefined || c.data !== undefined, {
    message: 'masters: the ingest service converts into a data folder: give --data DIR too',
  })
  .refine((c) => c.queue === undefined || c.masters !== undefined || c.watch !== undefined, {
    message: 'queue: the ingest queue needs the masters root too (--masters DIR or --watch DIR, with --data DIR)',
  })
  .refine((c) => c.catalog === undefined || c.data !== undefined, {
    message: 'catalog: a catalog is served with the data folder its pages were converted into: give --data DIR too',
  })
  // The embedded queue is a table of the SQLite catalog: a PostgreSQL catalog's ingest queues on Redis.
  .refine((c) => !(c.catalog !== undefined && /^postgres(ql)?:\/\//i.test(c.catalog) && (c.masters !== undefined || c.watch !== undefined) && c.queue === undefined), {
    message: 'queue: with a PostgreSQL catalog the ingest queue is on Redis: give --queue redis://host:6379 (the embedded queue lives in a SQLite catalog)',
  })
  .refine((c) => (c.tlsKey === undefined) === (c.tlsCert === undefined), {
    message: 'tlsKey and tlsCert: give both for HTTPS, or neither',
  })
  .superRefine((c, context) => {
    if (c.masters === undefined || !isS3Url(c.masters)) return;
    try {
      parseS3Url(c.masters);
    } catch (error) {
      context.addIssue({ code: 'custom', message: `masters: ${(error as Error).message.replace(/^images: /, '')}` });
    }
  })
  .refine((c) => c.pdfSize <= c.pdfMaxSize, {
    message: 'pdfSize: the default PDF page size must not exceed pdfMaxSize',
  })
  .refine((c) => c.maxHeight === undefined || c.maxWidth !== undefined, {
    message: 'maxHeight: requires maxWidth too (Image API rule)',
  })
  .transform((c) => ({
    ...c,
    images: c.images ?? path.join(c.data!, 'images'),
    // Watching a masters folder is ingesting from it: the watcher queues what the ingest service converts.
    masters: c.masters ?? c.watch,
  }));

export type ServeConfig = z.infer<typeof serveConfigSchema>;
export type ServeConfigInput = z.input<typeof serveConfigSchema>;
