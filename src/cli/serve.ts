import { Command, InvalidArgumentError, Option } from 'commander';
import { catalogLocation, describeCatalog, isPostgresUrl } from '../catalog/open.js';
import { loadServeConfig } from '../config/load.js';
import { withBlockCache } from '../imaging/jp2/block-cache.js';
import { chooseJp2Decoder } from '../imaging/jp2/decoder.js';
import { nativeAddon } from '../imaging/native.js';
import { createLogger } from '../log.js';
import { heavyLimits, threadPoolSize } from '../server/admission.js';
import cluster from 'node:cluster';
import { loadSecret } from '../auth/secret.js';
import { reportListening, runPrimary } from '../server/processes.js';
import { stopOnSignals, stopWithPrimary } from '../server/shutdown.js';

// Commander names the option and exits as a usage error (2) for an InvalidArgumentError only.
const int = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`'${value}' is not a whole number`);
  return n;
};
const seconds = (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`'${value}' is not a number of seconds`);
  return n;
};

const processCount = (value: string): number | 'auto' => (value === 'auto' ? 'auto' : int(value));

export function serveCommand(): Command {
  return new Command('serve')
    .summary('serve images over the IIIF Image API 3.0 and 2.1')
    .description(
      'Serve every image file under a folder over the IIIF Image API 3.0 (/iiif/3/) and 2.1 (/iiif/2/).\n' +
        'The identifier of DIR/a/b/page.tif is a/b/page.tif, URL-encoded as a%2Fb%2Fpage.tif; the name\n' +
        'without its extension (a%2Fb%2Fpage) resolves too.\n\n' +
        'Every option can also come from a config file (--config, YAML or JSON, same names in camelCase)\n' +
        'or from the environment as VITRINE_<NAME> (e.g. VITRINE_MAX_AREA=16000000). Flags win over the\n' +
        'environment, which wins over the file.',
    )
    .option('-i, --images <dir|s3://bucket/prefix>', 'folder of images to serve, or an S3 location')
    .option('-d, --data <dir>', 'output folder of `vitrine convert` to serve (its images/)')
    .option(
      '--catalog <file|postgres-url>',
      "the catalog: a SQLite file, or postgres://user@host:5432/db[?schema=name] shared by several servers and workers on any machines (default: DATA/catalog.sqlite). The password: in ~/.pgpass or PGPASSWORD rather than the URL. Content Search's index stays in DATA/catalog.sqlite",
    )
    .option('--catalog-schema <name>', "the PostgreSQL schema of the catalog's tables (default: the URL's ?schema=, else public); created and migrated at start")
    .option('-m, --masters <dir|s3://bucket/prefix>', 'masters root: with --data, the ingest service converts object folders under it (queued by the ingest API) into the data folder, or into an s3:// --images')
    .option('--api-token <token>', 'bearer token of the ingest API (POST /api/ingest, /api/jobs); without it the API is disabled. Prefer VITRINE_API_TOKEN or the config file: a flag shows in the process list')
    .option('--ingest-workers <n>', 'ingest jobs (pages converted) at once in this process (default 1; 0: none, `vitrine worker` processes run them)', int)
    .option('--queue <redis-url>', 'the ingest queue on Redis (BullMQ), e.g. redis://127.0.0.1:6379, shared with `vitrine worker` processes on any machines (default: the queue embedded in the catalog)')
    .option('--queue-prefix <name>', "the Redis queue's key prefix; servers and workers of one queue give the same (default vitrine)")
    .option('-p, --port <port>', 'port to listen on (default 8182; 0 picks a free one)', int)
    .option('--host <host>', 'address to listen on (default 127.0.0.1; 0.0.0.0 for all)')
    .option('--base-url <url>', 'public URL of this server, used in ids (e.g. https://iiif.example.org behind a proxy)')
    .option('--trust-proxy', 'honour X-Forwarded-Proto and X-Forwarded-Host from a reverse proxy')
    .option('--max-width <px>', 'largest output width (maxWidth in info.json)', int)
    .option('--max-height <px>', 'largest output height (needs --max-width)', int)
    .option('--max-area <px>', 'largest output area in pixels (default 25000000)', int)
    .option('--max-input-pixels <px>', 'largest untiled image decoded whole, against decompression bombs (default 500000000)', int)
    .option('--jpeg-quality <1-100>', 'JPEG and WebP quality (default 80)', int)
    .addOption(
      new Option('--resampling <kernel>', 'resampling kernel (default lanczos3)').choices([
        'nearest',
        'linear',
        'cubic',
        'mitchell',
        'lanczos2',
        'lanczos3',
      ]),
    )
    .addOption(
      new Option('--jp2-decoder <decoder>', 'JPEG 2000 decoder: native OpenJPEG if built, else WebAssembly (default auto)').choices([
        'auto',
        'native',
        'wasm',
      ]),
    )
    .option('--jp2-cache-mb <MB>', 'memory for decoded JPEG 2000 blocks that neighbouring tiles reuse (default 128; 0: none)', int)
    .option('--heavy-concurrency <n>', 'expensive renders (over 1 MP, free rotations) run at once (default: cores - 1, at most UV_THREADPOOL_SIZE - 2, at least 1)', int)
    .option('--heavy-queue <n>', 'expensive renders waiting at most; the next one gets 503 + Retry-After (default: max(8, 4 x heavy-concurrency))', int)
    .option('--pdf-size <px>', 'longest side of the pages of /iiif/pdf/{object} when no ?size= is given (default 1500)', int)
    .option('--pdf-max-size <px>', 'the largest ?size= a PDF may ask (default 3000)', int)
    .option('--pdf-concurrency <n>', 'PDFs built at once, each a page at a time (default 1)', int)
    .option('--pdf-queue <n>', 'PDFs waiting at most; the next one gets 503 + Retry-After (default 4)', int)
    .option('--collection-label <text>', "label of the top collection and the home page (default: the masters root's collection.yml, else 'All objects')")
    .option('--activity-page-size <n>', 'activities per page of the Change Discovery stream /iiif/activity/all-changes (default 100)', int)
    .option('--cache-control <value>', "Cache-Control header of responses (default 'public, max-age=86400')")
    .option('--s3-endpoint <url>', 'S3-compatible store for s3:// images and masters (MinIO, Ceph, s3rver…); default AWS S3')
    .option('--s3-region <region>', 'S3 region (default: AWS_REGION, else us-east-1)')
    .option('--s3-force-path-style', 'path-style S3 addressing (host/bucket/key); on by default with --s3-endpoint')
    .option('--no-s3-force-path-style', 'virtual-host S3 addressing (bucket.host/key) even with --s3-endpoint')
    .option('--cache-dir <dir>', 'local cache of byte ranges and copies read from S3 (default: <tmp>/vitrine-s3-cache)')
    .option('--cache-size <MB>', 'bound of the local S3 cache in megabytes (default 1024)', int)
    .option('--tls-key <file>', 'PEM private key: serve HTTPS (with --tls-cert)')
    .option('--tls-cert <file>', 'PEM certificate chain: serve HTTPS (with --tls-key)')
    .option('--watch <dir>', 'local masters folder to watch (with --data): new and changed objects are converted, removed ones withdrawn, while serving (masters in S3: the ingest API)')
    .option('--watch-stable <ms>', 'how long every file of a changed folder must keep its size and mtime before it is converted, so half-copied files never are (default 5000)', int)
    .option('--rules <file>', "the rules file given to vitrine convert: its variants (which version of a page to convert) apply to the ingest service too")
    .option('--watch-poll <ms>', 'poll the masters folder every <ms> instead of file system events: for network shares (NFS, SMB) that send none', int)
    .addOption(
      new Option('--withdraw-derivatives <what>', "a withdrawn object's derivatives: kept on disk (re-adding the folder is quick) or removed (default keep)").choices([
        'keep',
        'remove',
      ]),
    )
    .addOption(new Option('--metrics <on|off>', 'Prometheus metrics at /metrics (default on)').choices(['on', 'off']))
    .option('--metrics-token <token>', 'ask `Authorization: Bearer <token>` for /metrics (16+ characters; prefer VITRINE_METRICS_TOKEN: flags show in ps)')
    .addOption(new Option('--access-log <on|off>', 'one log line per request, at info level (default on)').choices(['on', 'off']))
    .option('--processes <n|auto>', 'server processes sharing the port, each on a core (node:cluster); auto: one per core (default 1). Not with --masters or --watch', processCount)
    .option('--shutdown-timeout <s>', 'on SIGTERM/SIGINT, seconds given to requests in flight before they are cut (default 10)', seconds)
    .option('--auth-secret <text>', 'secret signing session cookies and access tokens, 32+ characters (default: generated once into DATA/auth-secret, mode 0600)')
    .option('--kiosk-ranges <cidrs>', 'comma-separated IP ranges that meet the kiosk profile (the reading room), e.g. 192.168.10.0/24')
    .option('--external-auth-header <name>', 'header an SSO reverse proxy sets to the signed-in user (external profile); trust only behind that proxy')
    .addOption(new Option('--log-level <level>', 'log level (default info)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .option('-c, --config <file>', 'config file (YAML or JSON)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ vitrine serve --images ./my-images\n' +
        '  $ vitrine serve --data ./vitrine-data        # after vitrine convert ./masters --out ./vitrine-data\n' +
        '  $ VITRINE_API_TOKEN=s3cret vitrine serve --data ./vitrine-data --masters ./masters   # ingest API on\n' +
        '  $ curl -H "Authorization: Bearer s3cret" -d \'{"path":"box1/folder2"}\' -H "Content-Type: application/json" http://127.0.0.1:8182/api/ingest\n' +
        '  $ curl http://127.0.0.1:8182/iiif/3/page.tif/info.json\n' +
        '  $ vitrine serve --data /srv/data --watch /srv/masters --queue redis://127.0.0.1:6379 --ingest-workers 0   # vitrine worker processes convert\n' +
        '  $ vitrine serve --data /srv/data --masters s3://archive/masters --images s3://archive/derivatives --queue redis://127.0.0.1:6379 --ingest-workers 0\n' +
        '  $ vitrine serve --data ./vitrine-data --watch ./masters --watch-stable 10000   # convert what is copied in\n' +
        '  $ vitrine serve --data /srv/data --catalog postgres://vitrine@db.example.org/vitrine --port 8182   # one of several servers of one catalog\n' +
        '  $ vitrine serve --images /data/images --host 0.0.0.0 --base-url https://iiif.example.org\n' +
        '  $ AWS_PROFILE=iiif vitrine serve --images s3://my-bucket/derivatives --cache-dir /var/cache/vitrine --cache-size 20000\n' +
        '  $ VITRINE_MAX_AREA=16000000 vitrine serve -c vitrine.yml',
    )
    .action(async (opts: Record<string, unknown>) => {
      const { config: configFile, ...flags } = opts;
      const config = loadServeConfig(flags, { configFile: configFile as string | undefined });
      const logger = createLogger(config.logLevel);
      const announce = (address: string): void =>
        logger.info(`Vitrine serving ${config.images} at ${address}/iiif/3/ (Image API 3.0) and ${address}/iiif/2/ (2.1)${config.processes > 1 ? ` in ${config.processes} processes` : ''}`);
      if (config.processes > 1 && cluster.isPrimary) {
        // Made before the workers start, so they all read the same one instead of racing to write theirs.
        if (config.data !== undefined && config.authSecret === undefined) await loadSecret(undefined, config.data);
        runPrimary(logger, { processes: config.processes, onListening: announce });
        return;
      }
      // In a cluster, start-up lines come from the first worker only (restarted ones are silent).
      const startUpLines = !cluster.isWorker || cluster.worker?.id === 1;
      const { checkWatchFolder, startWatching } = await import('../ingest/serve-watch.js');
      const { QueueSink } = await import('../ingest/queue-sink.js');
      checkWatchFolder(config);
      // Loaded here, not at start-up: every other command (and --help) starts faster without Fastify.
      const { buildApp } = await import('../server/app.js');
      // This process renders request after request: libvips' buffers are reused, not faulted in afresh.
      (await import('../imaging/keep-freed-memory.js')).keepFreedMemoryForLibvips();
      const app = await buildApp(config, logger);
      // The watch starts before the server listens: whatever arrives once it answers is seen.
      const sink = app.ingest && config.data !== undefined ? new QueueSink(app.ingest, config.data, config.withdrawDerivatives, logger, catalogLocation(config.data, config.catalog, config.catalogSchema)) : undefined;
      const watcher = await startWatching(config, logger, sink, app.ingest?.variants);
      // The watcher and its catalog connection stop with the app (app.close, which the signals call); hooks are added before listening.
      app.addHook('onClose', async () => {
        await watcher?.close();
        await sink?.close();
      });
      const address = await app.listen({ port: config.port, host: config.host });
      if (startUpLines) {
        const native = nativeAddon();
        logger.info(`native addon (libjpeg-turbo tile crops and region decoding, OpenJPEG): ${native.reason}`);
        const jp2 = withBlockCache(chooseJp2Decoder(native.binding, config.jp2Decoder), config.jp2CacheMb * 2 ** 20);
        // The fallback works but is slow on large images: a warning, once, so it is not missed.
        logger[jp2.kind === 'native' ? 'info' : 'warn'](`JPEG 2000 decoder: ${jp2.description}`);
        if (config.baseUrl === undefined) {
          logger.info('no --base-url: ids and links are built from each request\'s Host header (answers say Vary: Host); set --base-url to the public URL in production');
        }
        const heavy = heavyLimits(config);
        logger.info(
          `heavy renders: ${heavy.concurrency} at once, ${heavy.queue} waiting, then 503 (libuv thread pool: ${threadPoolSize()}; MALLOC_ARENA_MAX: ${process.env.MALLOC_ARENA_MAX ?? 'unset'})`,
        );
        if (config.data !== undefined && config.catalog !== undefined && isPostgresUrl(config.catalog)) {
          logger.info(`catalog ${describeCatalog(catalogLocation(config.data, config.catalog, config.catalogSchema))}, its changes seen within a second; Content Search's index in ${config.data}/catalog.sqlite`);
          // A shared catalog means servers on other machines, each with its own data folder: its own generated secret.
          if (config.authSecret === undefined) {
            logger.warn(
              `auth: no --auth-secret: sessions and access tokens are signed with ${config.data}/auth-secret, this server's own; give every server of this catalog the same --auth-secret (VITRINE_AUTH_SECRET), or one begun on a server is refused by the others`,
            );
          }
        }
        if (config.masters !== undefined) {
          const { describeQueue } = await import('../ingest/open-queue.js');
          const here = config.ingestWorkers === 0 ? 'no job run here: `vitrine worker` processes run them' : `${config.ingestWorkers} at once here`;
          logger.info(
            `ingest: object folders of ${config.masters} into ${config.images.startsWith('s3://') ? config.images : config.data}, catalog ${describeCatalog(catalogLocation(config.data ?? '.', config.catalog, config.catalogSchema))}, queued on ${describeQueue(config)} (${here}); ingest API ${config.apiToken !== undefined ? 'on at /api/ingest (bearer token)' : 'off (no --api-token)'}`,
          );
        }
      }
      if (cluster.isWorker) {
        reportListening(address);
        stopWithPrimary(app, logger, config.shutdownTimeout);
        return;
      }
      announce(address);
      stopOnSignals(app, logger, config.shutdownTimeout);
    });
}
