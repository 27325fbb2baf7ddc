import { FileBytes } from '../storage/file-bytes.js';
import { chooseJp2Decoder, type Jp2Pixels } from '../imaging/jp2/decoder.js';
import { jp2Info } from '../imaging/jp2/info.js';
import { nativeAddon } from '../imaging/native.js';
import type { ImageSource } from '../imaging/source.js';
import { StripTiffWriter } from '../imaging/tiff/strip-writer.js';

/** Rows decoded per OpenJPEG call: its working memory follows the area, not the whole image. */
const STRIP_ROWS = 1024;
/** Rows per strip of the intermediate TIFF: what libvips reads at a time. */
const TIFF_STRIP_ROWS = 64;

export class Jp2MasterError extends Error {
  override name = 'Jp2MasterError';
}

/**
 * Decodes a JPEG 2000 master at full resolution (8-bit, grey or sRGB, with alpha when it has one) into
 * `tiff`, an uncompressed strip TIFF (carrying the master's ICC profile when the decoder did not
 * apply it), for the pipeline to read back
 * like any TIFF master: sharp's libvips has no JPEG 2000 loader, and it takes raw pixels only as one
 * buffer of the whole image, while a file it streams in bounded memory. The native addon decodes
 * strip by strip (memory follows a strip, not the image); the WebAssembly fallback decodes whole.
 */
export async function decodeJp2MasterToTiff(path: string, tiff: string, maxInputPixels: number): Promise<{ width: number; height: number }> {
  const file = await FileBytes.open(path);
  let writer: StripTiffWriter | undefined;
  try {
    const info = await jp2Info(file).catch((error: Error) => {
      throw new Jp2MasterError(`damaged JPEG 2000: ${error.message}`);
    });
    const header = info.jp2!;
    if (info.width * info.height > maxInputPixels) {
      throw new Jp2MasterError(`too large: ${info.width}×${info.height} is over the maxInputPixels limit (${maxInputPixels})`);
    }
    const source: ImageSource = {
      name: path,
      version: file.version,
      modified: file.modified,
      info,
      readBytes: (offset, length) => file.read(offset, length),
      localFile: () => file.localFile(),
    };
    const decoder = chooseJp2Decoder(nativeAddon().binding, 'auto', true);
    // The native decoder gives sRGB already; otherwise libvips applies the profile from the TIFF.
    const iccProfile = header.icc && !decoder.appliesIcc ? await source.readBytes(header.icc.offset, header.icc.length) : undefined;
    const decode = async (top: number, bottom: number): Promise<Jp2Pixels> => {
      try {
        return await decoder.decode(source, header, 0, { left: 0, top, right: info.width, bottom });
      } catch (error) {
        throw new Jp2MasterError(`damaged JPEG 2000: ${(error as Error).message}`);
      }
    };
    // Strips aligned on the codestream's tiles when they are small enough, so each tile is decoded
    // once (the tile grid starts at or above the image, tileY0 ≤ y0 < tileY0 + tileHeight: the first
    // strip may be shorter); bands of STRIP_ROWS across larger tiles or an untiled image, which
    // OpenJPEG decodes by area too; the whole image when the decoder cannot decode an area.
    const aligned = header.tileHeight <= STRIP_ROWS;
    const rows = !decoder.decodesArea ? info.height : aligned ? Math.floor(STRIP_ROWS / header.tileHeight) * header.tileHeight : STRIP_ROWS;
    let top = 0;
    let bottom = Math.min(info.height, decoder.decodesArea && aligned ? header.tileY0 + rows - header.y0 : rows);
    while (top < info.height) {
      const strip = await decode(top, bottom);
      if (strip.width !== info.width || strip.height !== bottom - top) throw new Jp2MasterError('damaged JPEG 2000: inconsistent tiles');
      writer ??= await StripTiffWriter.create(tiff, { width: info.width, height: info.height, channels: strip.channels, rowsPerStrip: TIFF_STRIP_ROWS, iccProfile });
      if (strip.channels !== writer.channels) throw new Jp2MasterError('damaged JPEG 2000: inconsistent tiles');
      await writer.writeRows(strip.data);
      top = bottom;
      bottom = Math.min(info.height, bottom + rows);
    }
    await writer!.close();
    writer = undefined;
    return { width: info.width, height: info.height };
  } finally {
    await writer?.abandon();
    await file.close();
  }
}
