import { statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../config/error.js';
import { createLogger } from '../log.js';
import { withConfigFile } from './worker-config.js';
import { isS3Url, parseS3Url } from '../storage/s3-location.js';
import type { S3ClientOptions } from '../storage/s3-storage.js';

const whole = (what: string, min: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`'${value}' is not ${what}`);
  return n;
};

interface WorkerFlags {
  queue?: string;
  queuePrefix?: string;
  data?: string;
  masters?: string;
  images?: string;
  s3Endpoint?: string;
  s3Region?: string;
  s3ForcePathStyle?: boolean;
  rules?: string;
  concurrency?: number;
  lease?: number;
  stalledInterval?: number;
  grace?: number;
  logLevel?: string;
  catalog?: string;
  catalogSchema?: string;
  config?: string;
}

/** A folder option that must name an existing folder (a usage error otherwise). */
function folder(option: string, given: string | undefined, what: string): string {
  if (given === undefined) throw new ConfigError(`--${option}: give ${what}`);
  const info = statSync(given, { throwIfNoEntry: false });
  if (!info?.isDirectory()) throw new ConfigError(`--${option}: ${given} is not a folder (${what})`);
  return path.resolve(given);
}

/** An option naming an s3://bucket/prefix, checked (a usage error naming the option otherwise). */
function s3Location(option: string, given: string): string {
  try {
    parseS3Url(given);
  } catch (error) {
    throw new ConfigError(`--${option}: ${(error as Error).message.replace(/^images: /, '')}`);
  }
  return given.replace(/\/+$/, '');
}

/** How S3 is reached, when the masters or the images are there; the credentials are the SDK's chain's. */
function s3Client(flags: WorkerFlags, reachesS3: boolean): S3ClientOptions | undefined {
  if (!reachesS3) {
    if (flags.s3Endpoint !== undefined) throw new ConfigError('--s3-endpoint: neither --masters nor --images is an s3:// URL');
    return undefined;
  }
  if (flags.s3Endpoint !== undefined && !/^https?:\/\/[^/]+/.test(flags.s3Endpoint)) throw new ConfigError(`--s3-endpoint: '${flags.s3Endpoint}' is not a URL such as http://127.0.0.1:9000`);
  return { endpoint: flags.s3Endpoint, region: flags.s3Region, forcePathStyle: flags.s3ForcePathStyle };
}

/** statfs magic numbers of network file systems (Linux), on which SQLite's WAL is not shared between hosts. */
const NETWORK_FS: Record<number, string> = { 0x6969: 'NFS', 0x517b: 'SMB', 0xff534d42: 'CIFS', 0xfe534d42: 'SMB2', 0x65735546: 'a FUSE file system' };

/** The network file system a folder is on, if it is. */
async function networkFileSystem(dir: string): Promise<string | undefined> {
  const info = await statfs(dir).catch(() => undefined);
  return info && NETWORK_FS[info.type];
}

export function workerCommand(): Command {
  return new Command('worker')
    .summary('run ingest jobs (convert and record queued object folders) from a shared queue')
    .description(
      'Take ingest jobs from the queue and run them: plan an object folder, convert its pages into\n' +
        'the data folder and record them in its catalog, then record the object (its manifest appears\n' +
        'on every server of that data folder). `vitrine serve --masters M --data D` (or --watch M) queues\n' +
        'the jobs, from its ingest API and its folder watcher.\n\n' +
        'With --queue redis://…, the jobs are on Redis (BullMQ): start any number of workers with the\n' +
        'same --queue and --queue-prefix as the server; stop, add or restart them while it serves. What\n' +
        'they share: the Redis queue, the masters folder and the data folder (the same paths for all).\n' +
        "The data folder's catalog is SQLite in WAL mode, written by every worker: safe for processes on\n" +
        'the machine that holds it (they take turns, busy_timeout), not across machines over a network\n' +
        'file system (WAL needs memory shared on one host; the worker warns when the data folder is on\n' +
        'NFS or SMB). Workers on other machines share a catalog on PostgreSQL (--catalog postgres://…,\n' +
        'with --queue: the embedded queue lives in a SQLite catalog). Without\n' +
        "--queue, the worker takes jobs from the queue embedded in the catalog, beside a `vitrine serve`.\n\n" +
        'The masters may be in S3 (--masters s3://bucket/prefix) and the derivatives too (--images\n' +
        's3://bucket/prefix; without it they go to the data folder\'s images/): an object job lists its\n' +
        "folder's objects as `vitrine convert` does; a page job downloads its master into this process's\n" +
        'temporary folder (DATA/.tmp-ingest/), converts it and uploads the derivative whole (an object\n' +
        'is visible only once complete), the temporary files removed whatever happens. Any S3-compatible\n' +
        "store through --s3-endpoint; credentials from the AWS SDK's standard chain, never logged.\n\n" +
        'Each job is idempotent: a page job is keyed by its master (path, size, mtime) and the settings,\n' +
        'and a page already converted and recorded is skipped, so a job run again after a crash never\n' +
        "converts the same content twice. A job's lock is renewed while it runs (every third of\n" +
        '--lease); a killed worker\'s jobs come back to the others once the lock lapses and a stalled\n' +
        'check (every --stalled-interval) sees it. Failures are retried with exponential backoff; a\n' +
        'broken master fails its page at once, with its reason (GET /api/jobs?state=failed).\n\n' +
        'SIGTERM or SIGINT: no new job is taken; the jobs in hand finish within --grace seconds, or are\n' +
        'handed back to the queue (for the next worker, the attempt not counted); then the worker exits 0.',
    )
    .option('-q, --queue <redis-url>', 'the Redis queue, e.g. redis://127.0.0.1:6379 or rediss://user:pass@host:6380/2 (env VITRINE_QUEUE; default: the queue embedded in the catalog)')
    .option('--queue-prefix <name>', "the queue's key prefix on Redis, the server's (env VITRINE_QUEUE_PREFIX; default vitrine)")
    .option('-d, --data <dir>', 'the data folder the pages are converted into (images/, catalog.sqlite), the server\'s --data')
    .option('--catalog <file|postgres-url>', "the catalog, the servers' --catalog: a SQLite file, or postgres://user@host:5432/db[?schema=name] (needs --queue; default: DATA/catalog.sqlite)")
    .option('--catalog-schema <name>', "the PostgreSQL schema of the catalog's tables, the servers' --catalog-schema")
    .option('-m, --masters <dir|s3://bucket/prefix>', "the masters root the queued object folders are under, the server's --masters or --watch")
    .option('-i, --images <s3://bucket/prefix>', "where the derivatives are uploaded, the server's --images (default: the data folder's images/)")
    .option('--s3-endpoint <url>', 'S3-compatible store for s3:// masters and images (MinIO, Ceph, s3rver…); default AWS S3 (credentials: the AWS SDK\'s standard chain)')
    .option('--s3-region <region>', 'S3 region (default: AWS_REGION, else us-east-1)')
    .option('--s3-force-path-style', 'path-style S3 addressing (host/bucket/key); on by default with --s3-endpoint')
    .option('--no-s3-force-path-style', 'virtual-host S3 addressing (bucket.host/key) even with --s3-endpoint')
    .option('-r, --rules <file>', "a rules file whose variants choose one version of each page: the server's --rules (naming rules are refused)")
    .option('-c, --concurrency <n>', 'jobs (pages converted) at once in this process (default 1; about one per core)', whole('a whole number from 1', 1))
    .option('--lease <ms>', 'how long a job is held without a heartbeat before others may take it: how soon a killed worker\'s job comes back (default 30000)', whole('a number of milliseconds from 1000', 1000))
    .option('--stalled-interval <ms>', "Redis: how often this worker looks for jobs whose lock lapsed and hands them back (default 30000)", whole('a number of milliseconds from 100', 100))
    .option('--grace <s>', 'on SIGTERM or SIGINT, seconds the jobs in hand may take to finish before they are handed back (default 30)', whole('a whole number of seconds', 0))
    .option('--config <file>', "a config file (YAML or JSON, the settings' names in camelCase): the servers' file may be given as it is, the worker takes its settings (queue, catalog, masters, images, s3…) and passes over theirs; flags win over it")
    .addOption(new Option('--log-level <level>', 'log level (default info; debug logs each page)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  # a server that only queues, and two workers (start, stop and restart them at will)\n' +
        '  $ vitrine serve --data /srv/data --watch /srv/masters --queue redis://127.0.0.1:6379 --ingest-workers 0\n' +
        '  $ vitrine worker --queue redis://127.0.0.1:6379 --data /srv/data --masters /srv/masters\n' +
        '  $ vitrine worker --queue redis://127.0.0.1:6379 --data /srv/data --masters /srv/masters\n\n' +
        '  # masters and derivatives in a bucket (the server: --masters s3://… --images s3://… too)\n' +
        '  $ vitrine worker --queue redis://127.0.0.1:6379 --data /srv/data --masters s3://archive/masters --images s3://archive/derivatives\n\n' +
        '  # workers on other machines, one catalog on PostgreSQL (the servers give the same --catalog)\n' +
        '  $ vitrine worker --queue redis://queue.example.org:6379 --catalog postgres://vitrine@db.example.org/vitrine --data /srv/data --masters /srv/masters\n\n' +
        '  # beside a server on this machine, on the queue embedded in the catalog\n' +
        '  $ vitrine worker --data ./vitrine-data --masters ./masters',
    )
    .action(async (given: WorkerFlags) => {
      const flags = given.config === undefined ? given : withConfigFile(given, given.config);
      const queueUrl = flags.queue ?? process.env.VITRINE_QUEUE;
      const queuePrefix = flags.queuePrefix ?? process.env.VITRINE_QUEUE_PREFIX ?? 'vitrine';
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(queuePrefix)) throw new ConfigError(`--queue-prefix: '${queuePrefix}' is not letters, digits, _ . - (at most 64)`);
      const masters =
        flags.masters !== undefined && isS3Url(flags.masters) ? s3Location('masters', flags.masters) : folder('masters', flags.masters, 'the masters root the queued object folders are under');
      if (flags.images !== undefined && !isS3Url(flags.images)) {
        throw new ConfigError(`--images: ${flags.images} is not an s3:// URL (local derivatives go to the data folder's images/: leave --images out)`);
      }
      const images = flags.images === undefined ? undefined : s3Location('images', flags.images);
      const s3 = s3Client(flags, isS3Url(masters) || images !== undefined);
      const data = path.resolve(flags.data ?? '');
      if (flags.data === undefined) throw new ConfigError('--data: give the data folder the pages are converted into');
      const { openQueue, describeQueue, checkQueueUrl } = await import('../ingest/open-queue.js');
      if (queueUrl !== undefined) checkQueueUrl(queueUrl);
      const { catalogLocation, describeCatalog } = await import('../catalog/open.js');
      const catalog = catalogLocation(data, flags.catalog, flags.catalogSchema);
      if (catalog.kind === 'postgres' && queueUrl === undefined) {
        throw new ConfigError('--queue: with a PostgreSQL catalog the jobs are on Redis: give --queue redis://host:6379 (the embedded queue lives in a SQLite catalog)');
      }
      const logger = createLogger(flags.logLevel ?? 'info');
      const { prepareDataFolder, ingestVariants } = await import('../ingest/service.js');
      const { IngestWorker } = await import('../ingest/worker.js');
      const { DEFAULT_SETTINGS } = await import('../pipeline/default-settings.js');
      // This process converts page after page: libvips' buffers are reused, not faulted in afresh.
      (await import('../imaging/keep-freed-memory.js')).keepFreedMemoryForLibvips();
      const variants = flags.rules === undefined ? undefined : await ingestVariants(flags.rules);
      const catalogFile = await prepareDataFolder(data);
      const choice = { queue: queueUrl, queuePrefix, stalledIntervalMs: flags.stalledInterval };
      const queue = await openQueue(choice, catalogFile, (error) => logger.error(`worker: the queue's Redis: ${error.message} (reconnecting)`));
      const concurrency = flags.concurrency ?? 1;
      const worker = await IngestWorker.start(queue, {
        masters,
        data,
        images,
        s3,
        catalogFile,
        catalog,
        settings: DEFAULT_SETTINGS,
        variants,
        concurrency,
        leaseMs: flags.lease,
        // Jobs are queued by other processes: nothing wakes this one, it looks every quarter second.
        pollMs: 250,
        logger,
      });
      const shared = await networkFileSystem(data);
      if (shared && catalog.kind === 'sqlite') logger.warn(`worker: the data folder is on ${shared}: its SQLite catalog (WAL) is safe for processes of one machine only; run every worker and server of ${data} on one machine`);
      const grace = (flags.grace ?? 30) * 1000;
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          logger.warn(`${signal} again: exiting without waiting (the jobs in hand come back when their lease lapses)`);
          logger.flush(() => process.exit(signal === 'SIGINT' ? 130 : 143));
          return;
        }
        stopping = true;
        logger.info(`${signal}: taking no new job; finishing the jobs in hand (at most ${grace / 1000} s, then they are handed back)`);
        void worker
          .stop(grace)
          .then(() => queue.close())
          .then(
            () => {
              logger.info('worker stopped');
              logger.flush(() => process.exit(0));
            },
            (error: unknown) => {
              logger.error({ err: error }, 'worker: error while stopping');
              logger.flush(() => process.exit(1));
            },
          );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      // Announced once a signal stops it gracefully: a supervisor (or a test) may stop it from this line on.
      logger.info(`worker: ${concurrency} job(s) at once from ${describeQueue(choice)}; masters ${masters}, data ${data}${images ? `, derivatives to ${images}` : ''}, catalog ${describeCatalog(catalog)}`);
    });
}
