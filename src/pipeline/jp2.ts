import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Sharp } from 'sharp';
import { Jp2Writer, makeFifo, type Jp2EncodeSettings } from '../imaging/jp2/encode.js';

/** The pixel pipeline failed (the master's fault, as libvips says); the encoder's own errors are not wrapped. */
export class Jp2SourceError extends Error {
  override name = 'Jp2SourceError';
  /** libvips' error, without its lines about the pipe (an internal detail, not the master's fault). */
  readonly source: Error;
  constructor(source: unknown, pipe: string) {
    const message = (source instanceof Error ? source.message : String(source))
      .split('\n')
      .filter((line) => !line.includes(pipe))
      .join('\n');
    super(message);
    this.source = new Error(message);
  }
}

/**
 * Writes an 8-bit sRGB or greyscale sharp pipeline of the given size as a JP2 file, in bounded
 * memory, the decoding overlapping the encoding. libvips streams the pixels, as it computes them,
 * into a named pipe as an uncompressed PNG (no zlib work on either side); the addon reads the pipe on
 * a thread of its own and encodes the image one row of tiles at a time, its tiles in parallel,
 * holding at most three strips of `tileSize` rows. The pipe's back-pressure holds libvips when the
 * encoder is behind. The pipe lives in `temporaryDir` and is removed after.
 */
export async function writeJp2(
  image: Sharp,
  size: { width: number; height: number; channels: 1 | 3 },
  file: string,
  temporaryDir: string,
  settings: Jp2EncodeSettings,
): Promise<void> {
  const fifo = path.join(temporaryDir, `${process.pid}-${randomUUID()}.png`);
  makeFifo(fifo);
  let writer: Jp2Writer | undefined;
  let input: Promise<void> | undefined;
  let writing: Promise<unknown> | undefined;
  let finished = false;
  try {
    writer = Jp2Writer.open(file, size, settings);
    // The reader first (it opens the pipe without waiting): libvips' opening the pipe to write
    // would wait forever for a reader that never came.
    input = writer.readPng(fifo);
    input.catch(() => undefined); // awaited below
    writing = image.png({ compressionLevel: 0, adaptiveFiltering: false }).toFile(fifo);
    let sourceError: unknown;
    await writing.catch((error: unknown) => {
      sourceError = error ?? new Error('libvips failed');
    });
    writer.endInput(sourceError !== undefined);
    try {
      await input;
    } catch (error) {
      // A stream that stopped short is libvips failing: its own error says why.
      const streamEnded = (error as NodeJS.ErrnoException).code === 'VITRINE_STREAM_ENDED';
      throw sourceError !== undefined && streamEnded ? new Jp2SourceError(sourceError, fifo) : error;
    }
    if (sourceError !== undefined) throw new Jp2SourceError(sourceError, fifo);
    await writer.finish();
    finished = true;
  } finally {
    // libvips must be done with the pipe before it goes (a pipe removed too early would be created
    // again by libvips as a regular file), and the reader before the encoder is freed.
    await writing?.catch(() => undefined);
    writer?.endInput(true);
    await input?.catch(() => undefined);
    if (!finished) writer?.abort();
    await rm(fifo, { force: true });
  }
}
