import { LRUCache } from 'lru-cache';
import { ConfigError } from '../config/load.js';
import type { ServeConfig } from '../config/schema.js';
import type { Dimensions, SizeLimits } from '../image-api/request.js';
import { NO_COUNTERS, type ImagingCounters } from '../imaging/counters.js';
import type { RenderOptions } from '../imaging/executor.js';
import { withBlockCache } from '../imaging/jp2/block-cache.js';
import { chooseJp2Decoder, type Jp2Decoder } from '../imaging/jp2/decoder.js';
import { nativeAddon, type NativeBinding } from '../imaging/native.js';
import { SourceCache, type SourceLease } from '../imaging/source-cache.js';
import type { ImageSource } from '../imaging/source.js';
import path from 'node:path';
import type { CatalogSource } from '../catalog/store.js';
import { CatalogResolver } from '../storage/catalog-resolver.js';
import { FileResolver } from '../storage/file-resolver.js';
import { isS3Url } from '../storage/s3-location.js';
import type { S3Resolver } from '../storage/s3-resolver.js';
import type { S3Stats, S3Storage } from '../storage/s3-storage.js';
import { tmpdir } from 'node:os';
import { heavyLimits, RenderQueue } from './admission.js';
import { decide, type Credentials, type Decision } from '../auth/gate.js';

const ALLOWED: Decision = { kind: 'allow' };
import { AccessDeniedError } from '../auth/degrade.js';
import { OPEN, type AccessPolicy } from '../auth/policy.js';

/** What the gate let through for one request: all of the image or a degraded view, and whether the image is protected at all. */
export interface Granted {
  readonly decision: Exclude<Decision, { readonly kind: 'deny' }>;
  /** The image's policy is not open: its answers depend on who asks (not for shared caches). */
  readonly protected: boolean;
  readonly policy: AccessPolicy;
}

/** Quiet time after the last heavy render before memory is trimmed. */
const TRIM_AFTER_MS = 2000;

/** Everything the Image API routes share: identifier resolution, open sources, limits, encoder settings. */
export class ImageService {
  /**
   * Identifier → real path, trusted for as long as open sources are (sourceCheckIntervalMs): a tile
   * request then costs no file-system call at all. Failures are never cached.
   */
  private readonly resolved: LRUCache<string, string> | undefined;
  /** The native addon when built: lossless crops of stored edge tiles, regions decoded from stored JPEG tiles. */
  readonly native: NativeBinding | undefined = nativeAddon().binding;
  /** JPEG 2000: OpenJPEG through the addon, or its WebAssembly build when the addon lacks it. */
  readonly jp2: Jp2Decoder;
  /** Admission control for expensive renders (see imaging/plan.ts for what is expensive). */
  readonly heavy: RenderQueue;

  private constructor(
    private readonly resolver: FileResolver | CatalogResolver | S3Resolver,
    private readonly sources: SourceCache,
    readonly limits: SizeLimits,
    readonly render: RenderOptions,
    cacheSize: number,
    checkIntervalMs: number,
    jp2Decoder: ServeConfig['jp2Decoder'],
    jp2CacheMb: number,
    heavy: { concurrency: number; queue: number },
    /** What the pipeline reports for metrics (render strategies, cache hits). */
    readonly counters: ImagingCounters,
    /** The S3 storage when images are in S3 (its request counters go to /health). */
    readonly s3?: S3Storage,
  ) {
    this.heavy = new RenderQueue(heavy.concurrency, heavy.queue, () => this.trimSoon());
    try {
      this.jp2 = withBlockCache(chooseJp2Decoder(this.native, jp2Decoder), jp2CacheMb * 2 ** 20, counters);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    this.resolved = checkIntervalMs > 0 ? new LRUCache({ max: cacheSize * 4, ttl: checkIntervalMs }) : undefined;
  }

  private trimTimer: NodeJS.Timeout | undefined;

  /**
   * After a burst of heavy renders, glibc keeps their freed buffers in its arenas (asked to, for
   * speed: imaging/keep-freed-memory.ts) and the process stays hundreds of MB larger than it needs;
   * once no heavy render has run for TRIM_AFTER_MS, that memory is given back (malloc_trim, a few
   * milliseconds, through the native addon).
   */
  private trimSoon(): void {
    const trim = this.native?.trimMemory;
    if (!trim) return;
    clearTimeout(this.trimTimer);
    this.trimTimer = setTimeout(() => {
      if (this.heavy.load.running === 0) trim();
    }, TRIM_AFTER_MS).unref();
  }

  static async create(config: ServeConfig, counters: ImagingCounters = NO_COUNTERS, catalog?: CatalogSource): Promise<ImageService> {
    let resolver: FileResolver | CatalogResolver | S3Resolver;
    let sources: SourceCache;
    let s3: S3Storage | undefined;
    if (isS3Url(config.images)) {
      // Loaded only for S3: the AWS SDK would add to every start-up of a server over folders.
      const [{ S3Storage }, { S3Resolver }] = await Promise.all([import('../storage/s3-storage.js'), import('../storage/s3-resolver.js')]);
      try {
        s3 = await S3Storage.create(config.images, {
          endpoint: config.s3Endpoint,
          region: config.s3Region,
          forcePathStyle: config.s3ForcePathStyle,
          cacheDir: config.cacheDir ?? path.join(tmpdir(), 'vitrine-s3-cache'),
          cacheBytes: config.cacheSize * 2 ** 20,
        });
      } catch (error) {
        throw new ConfigError((error as Error).message);
      }
      // With a data folder (vitrine convert --out s3://… --data DIR): its catalog says which object is a page's derivative, and its policy.
      resolver = catalog ? new CatalogResolver(new S3Resolver(s3), catalog) : new S3Resolver(s3);
      sources = new SourceCache(config.sourceCacheSize, config.sourceCheckIntervalMs, s3, counters);
    } else {
      const files = await FileResolver.create(config.images);
      // A data folder's catalog knows each page's current derivative; a plain folder has only files.
      resolver = catalog ? new CatalogResolver(files, catalog) : files;
      sources = new SourceCache(config.sourceCacheSize, config.sourceCheckIntervalMs, undefined, counters);
    }
    return new ImageService(
      resolver,
      sources,
      { maxWidth: config.maxWidth, maxHeight: config.maxHeight, maxArea: config.maxArea },
      { jpegQuality: config.jpegQuality, maxInputPixels: config.maxInputPixels, kernel: config.resampling },
      config.sourceCacheSize,
      config.sourceCheckIntervalMs,
      config.jp2Decoder,
      config.jp2CacheMb,
      heavyLimits(config),
      counters,
      s3,
    );
  }

  /** Sources open now (each holds a file descriptor). */
  get openSources(): number {
    return this.sources.open;
  }

  /** Closes the catalog and every open source (after the server has stopped taking requests). */
  async close(): Promise<void> {
    if (this.resolver instanceof CatalogResolver) await this.resolver.close();
    // Open sources hold descriptors (and, for S3, pinned local copies): give them back.
    this.sources.clear();
  }

  /** For /health: what was asked of S3 and of its local cache, when images are in S3. */
  storageStats(): (S3Stats & { cacheBytes: number; cacheFiles: number }) | undefined {
    return this.s3 && { ...this.s3.stats, cacheBytes: this.s3.cache.bytes, cacheFiles: this.s3.cache.files };
  }

  private async realPath(identifier: string): Promise<string> {
    let path = this.resolved?.get(identifier);
    if (path === undefined) {
      path = await this.resolver.resolve(identifier);
      this.resolved?.set(identifier, path);
    }
    return path;
  }

  /** The access policy of the image an identifier names (404 when there is none); open without a catalog (--images). */
  async policyOf(identifier: string): Promise<AccessPolicy> {
    const path = await this.realPath(identifier);
    return this.resolver instanceof CatalogResolver ? await this.resolver.policyOf(path) : OPEN;
  }

  /**
   * Runs `use` on the open source an identifier names for a request with `credentials`, which
   * stays open until `use` settles (even if the cache evicts it meanwhile). The one gate before
   * any pixel is here (auth/gate.ts): denied, it throws AccessDeniedError (401) before the image is
   * opened; degraded, `use` is told the largest size it may give. IiifError 400/403/404/501 when
   * the image cannot be had.
   */
  async withSource<T>(identifier: string, credentials: () => Credentials, use: (source: ImageSource, granted: Granted) => Promise<T> | T): Promise<T> {
    const { path, granted } = await this.admit(identifier, credentials);
    return this.open(path, (source) => use(source, granted));
  }

  /**
   * The image fast path's way in, without waiting: through the same gate, a lease on the source an
   * identifier names when its path is known and the source open and current, and `wanted` (a look
   * at its headers) takes it. Undefined otherwise, with no lookup counted: the route then looks it
   * up, and counts it, once. Release the lease exactly once.
   */
  leaseOpenSource(identifier: string, credentials: () => Credentials, wanted: (source: ImageSource, granted: Granted) => boolean): SourceLease | undefined {
    const path = this.resolved?.get(identifier);
    if (path === undefined) return undefined;
    // Only a policy known for the catalog's current version, without waiting: otherwise the route decides.
    const policy = this.resolver instanceof CatalogResolver ? this.resolver.policyOfNow(path) : OPEN;
    if (policy === undefined) return undefined;
    const granted = this.grant(identifier, policy, credentials);
    const open = this.sources.peek(path);
    if (!open || !wanted(open, granted)) return undefined;
    const lease = this.sources.acquireNow(path);
    if (!lease) return undefined;
    if (lease.source !== open && !wanted(lease.source, granted)) {
      lease.release();
      return undefined;
    }
    return lease;
  }

  /** The gate: the image's policy and what `credentials` may see of it; AccessDeniedError (401) when nothing. */
  private async admit(identifier: string, credentials: () => Credentials): Promise<{ path: string; granted: Granted }> {
    const path = await this.realPath(identifier);
    const policy = this.resolver instanceof CatalogResolver ? await this.resolver.policyOf(path) : OPEN;
    return { path, granted: this.grant(identifier, policy, credentials) };
  }

  /** What `credentials` may see of an image under `policy`; AccessDeniedError (401) when nothing. */
  private grant(identifier: string, policy: AccessPolicy, credentials: () => Credentials): Granted {
    // Credentials are read (cookie signature, token) only for a protected image: an open tile costs nothing more.
    const decision = policy.access === 'open' ? ALLOWED : decide(policy, credentials());
    if (decision.kind === 'deny') throw new AccessDeniedError(`identifier '${identifier}': restricted; its probe service says how to gain access`);
    return { decision, protected: policy.access !== 'open', policy };
  }

  private async open<T>(path: string, use: (source: ImageSource) => Promise<T> | T): Promise<T> {
    const lease = await this.sources.acquire(path);
    try {
      return await use(lease.source);
    } finally {
      lease.release();
    }
  }

  /** An image's size, from its (cached) open source: not pixels, so not gated (manifests give it to everyone). */
  async dimensions(identifier: string): Promise<Dimensions> {
    return this.open(await this.realPath(identifier), ({ info: { width, height } }) => ({ width, height }));
  }
}
