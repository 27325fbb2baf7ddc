import { nativeAddon, type NativeJp2Encoder } from '../native.js';

/** How a JP2 derivative is encoded (see native/src/jp2_encode.h for what the codestream holds). */
export interface Jp2EncodeSettings {
  /** Square tiles, encoded one row of tiles at a time: memory follows the tile size, not the image's. */
  readonly tileSize: number;
  /** Reversible 5/3 wavelet, every bit kept; otherwise irreversible 9/7 at `psnr`. */
  readonly lossless: boolean;
  /** Quality layers, increasing, in dB of PSNR (lossy only). */
  readonly psnr: readonly number[];
  /** Threads encoding this image's tiles. */
  readonly threads: number;
}

/** Precinct side per resolution level, highest first; the last one holds for the levels below. */
export const JP2_PRECINCTS: readonly number[] = [256, 256, 128];

/** The fewest resolution levels any derivative gets. */
export const JP2_MIN_RESOLUTIONS = 6;

/** The smallest level is at most this many pixels on its long side (a thumbnail without decoding more). */
export const JP2_SMALLEST_LEVEL = 256;

/**
 * Resolution levels for an image: at least 6, and enough that the smallest level is at most 256
 * pixels on its long side; at most what the tile allows (OpenJPEG needs 2^(levels − 1) ≤ tile side).
 */
export function jp2Resolutions(width: number, height: number, tileSize: number): number {
  let levels = JP2_MIN_RESOLUTIONS;
  while (Math.ceil(Math.max(width, height) / 2 ** (levels - 1)) > JP2_SMALLEST_LEVEL) levels++;
  return Math.min(levels, Math.floor(Math.log2(tileSize)) + 1);
}

/**
 * `--quality` (1–100, the JPEG scale) as the PSNR of a JP2's top quality layer: 20 + 0.3 × quality
 * dB, so the default 85 is 45.5 dB, visually lossless on scans, and 100 is 50 dB. Two lower layers,
 * 5 and 10 dB below, let a reader decode less for previews.
 */
export function jp2QualityLayers(quality: number): number[] {
  const top = Math.round((20 + 0.3 * quality) * 10) / 10;
  return [top - 10, top - 5, top];
}

/** Whether this build can write JP2 files, and if not, why and what to do. */
export function jp2EncoderStatus(): { available: true } | { available: false; reason: string } {
  const { binding, reason } = nativeAddon();
  if (binding?.Jp2Encoder && binding.makeFifo) return { available: true };
  const why = binding ? 'the native addon was built without OpenJPEG' : `the native addon is ${reason}`;
  return {
    available: false,
    reason: `${why}; install OpenJPEG's headers (Debian/Ubuntu: sudo apt-get install libopenjp2-7-dev; macOS: brew install openjpeg), then npm rebuild`,
  };
}

/** Creates a named pipe (mode 0600); throws when the addon has no JPEG 2000 encoder. */
export function makeFifo(file: string): void {
  const binding = nativeAddon().binding;
  if (!binding?.makeFifo) throw new Error(requireEncoderMessage());
  binding.makeFifo(file);
}

function requireEncoderMessage(): string {
  const status = jp2EncoderStatus();
  return status.available ? '' : `JPEG 2000 encoding is not available: ${status.reason}`;
}

/**
 * A JP2 file being written, one strip of `tileSize` rows at a time (the last strip holds what is
 * left). The strips' tiles are encoded in parallel on threads of the addon's own while the caller
 * prepares the next strip; several strips may be in flight, and settle in order. A strip's buffer
 * must stay untouched until its promise settles.
 */
export class Jp2Writer {
  readonly #encoder: NativeJp2Encoder;
  #closed = false;

  private constructor(encoder: NativeJp2Encoder) {
    this.#encoder = encoder;
  }

  /** Creates (or truncates) `file` and writes the codestream's headers. */
  static open(file: string, image: { width: number; height: number; channels: 1 | 3 }, settings: Jp2EncodeSettings): Jp2Writer {
    const Encoder = nativeAddon().binding?.Jp2Encoder;
    if (!Encoder) throw new Error(requireEncoderMessage());
    return new Jp2Writer(
      new Encoder({
        path: file,
        width: image.width,
        height: image.height,
        channels: image.channels,
        tileSize: settings.tileSize,
        resolutions: jp2Resolutions(image.width, image.height, settings.tileSize),
        precincts: [...JP2_PRECINCTS],
        lossless: settings.lossless,
        psnr: [...settings.psnr],
        threads: Math.max(1, Math.floor(settings.threads)),
      }),
    );
  }

  /** Encodes the next row of tiles: `rows × width × channels` bytes, interleaved; settles once they are written. */
  writeStrip(strip: Buffer): Promise<void> {
    return this.#encoder.writeStrip(strip);
  }

  /**
   * Reads the whole image from `file`, a named pipe (or a file) that receives it as an 8-bit grey
   * or RGB PNG written with compression level 0 (what libvips writes with `compressionLevel: 0`),
   * of the size given to open(). The addon reads it on a thread of its own, in large blocks, and
   * queues its strips: JavaScript never touches the pixels. Throws when the file cannot be opened
   * (then nothing must write to the pipe: nobody would read it). The promise settles once every
   * row is queued; an error with code 'VITRINE_STREAM_ENDED' means the stream stopped short or
   * its writer failed (see endInput), and the writer's own error says why.
   */
  readPng(file: string): Promise<void> {
    return this.#encoder.readPng(file);
  }

  /** The pipe's writer is done (`failed`: it gave up): readPng stops waiting for more. */
  endInput(failed: boolean): void {
    this.#encoder.endInput(failed);
  }

  /** Ends the codestream, writes the JP2 boxes and closes the file. */
  async finish(): Promise<void> {
    await this.#encoder.finish();
    this.#closed = true;
  }

  /** Stops the encoder and closes the file, as it is; call once every strip's promise has settled. */
  abort(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#encoder.abort();
  }
}
