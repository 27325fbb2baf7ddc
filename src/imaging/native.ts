import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** What the optional native addon (native/, built by `npm ci` when libturbojpeg is installed) offers. */
export interface NativeBinding {
  /** Lossless crop of the top-left width×height of a baseline JPEG (jpegtran -crop), no pixel decode. */
  cropJpeg(jpeg: Buffer, width: number, height: number): Buffer;
}

const ADDON = path.resolve(import.meta.dirname, '../../native/build/Release/vitrine_native.node');

let loaded: { binding: NativeBinding | undefined; reason: string } | undefined;

/**
 * The native addon if it was built and is not switched off (VITRINE_NATIVE=off), with the reason
 * when it is not there. Everything it does has a slower fallback on libvips.
 */
export function nativeAddon(): { binding: NativeBinding | undefined; reason: string } {
  if (loaded) return loaded;
  if (process.env.VITRINE_NATIVE === 'off') {
    loaded = { binding: undefined, reason: 'switched off by VITRINE_NATIVE=off' };
  } else if (!existsSync(ADDON)) {
    loaded = { binding: undefined, reason: 'not built (install libturbojpeg0-dev, then npm rebuild)' };
  } else {
    try {
      loaded = { binding: createRequire(import.meta.url)(ADDON) as NativeBinding, reason: 'loaded' };
    } catch (error) {
      loaded = { binding: undefined, reason: `cannot be loaded: ${(error as Error).message}` };
    }
  }
  return loaded;
}
