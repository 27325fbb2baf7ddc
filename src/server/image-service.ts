import type { ServeConfig } from '../config/schema.js';
import type { SizeLimits } from '../image-api/request.js';
import type { RenderOptions } from '../imaging/executor.js';
import { SourceCache } from '../imaging/source-cache.js';
import type { OpenedSource } from '../imaging/open-source.js';
import { FileResolver } from '../storage/file-resolver.js';

/** Everything the Image API routes share: identifier resolution, open sources, limits, encoder settings. */
export class ImageService {
  private constructor(
    private readonly resolver: FileResolver,
    private readonly sources: SourceCache,
    readonly limits: SizeLimits,
    readonly render: RenderOptions,
  ) {}

  static async create(config: ServeConfig): Promise<ImageService> {
    return new ImageService(
      await FileResolver.create(config.images),
      new SourceCache(config.sourceCacheSize, config.sourceCheckIntervalMs),
      { maxWidth: config.maxWidth, maxHeight: config.maxHeight, maxArea: config.maxArea },
      { jpegQuality: config.jpegQuality, maxInputPixels: config.maxInputPixels, kernel: config.resampling },
    );
  }

  /** The open source an identifier names; IiifError 400/403/404/501 when it cannot be had. */
  async open(identifier: string): Promise<OpenedSource> {
    return this.sources.get(await this.resolver.resolve(identifier));
  }
}
