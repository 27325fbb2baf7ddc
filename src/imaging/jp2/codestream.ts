import type { RangeReader } from '../../storage/byte-source.js';

/** What serving needs from a JPEG 2000 file, read from its boxes and main header only. */
export interface Jp2Header {
  /** 'jp2': a JP2 file (boxes around the codestream); 'j2k': a raw codestream. */
  readonly container: 'jp2' | 'j2k';
  readonly fileSize: number;
  /** Where the codestream starts in the file, and its length. */
  readonly codestreamOffset: number;
  readonly codestreamLength: number;
  /** The image area on the reference grid: [x0, x1) × [y0, y1). */
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
  readonly components: number;
  /** Bits per sample of the first component. */
  readonly precision: number;
  /** Tile grid on the reference grid (the whole image for a single tile). */
  readonly tileWidth: number;
  readonly tileHeight: number;
  /** Where the tile grid starts on the reference grid. */
  readonly tileX0: number;
  readonly tileY0: number;
  /** Resolution levels (decomposition levels + 1) of the default coding style. */
  readonly resolutions: number;
  readonly layers: number;
  readonly progression: 'LRCP' | 'RLCP' | 'RPCL' | 'PCRL' | 'CPRL';
  /** 5/3 reversible wavelet (lossless) rather than 9/7. */
  readonly reversible: boolean;
  /** High-Throughput JPEG 2000 (Part 15) code-blocks. */
  readonly htj2k: boolean;
  /** Where the ICC profile of the JP2 colour box is in the file, when the colours are given by one. */
  readonly icc?: { readonly offset: number; readonly length: number } | undefined;
  /**
   * The colour space of the JP2 colour box when it is enumerated (16 sRGB, 17 grey, 18 sYCC, 12 CMYK,
   * 14 CIELab, 24 e-sYCC…); absent for raw codestreams and ICC profiles.
   */
  readonly enumeratedColour?: number | undefined;
  /** Some component is subsampled (XRsiz or YRsiz above 1). */
  readonly subsampled: boolean;
  /**
   * Packet headers packed in the main header (PPM): OpenJPEG 2.5 reads them wrongly when it skips
   * tiles outside a decode area (garbled pixels or "Expected EPH marker", conformance file p1_05),
   * so such files are decoded whole.
   */
  readonly packedHeaders: boolean;
  /** The JP2 header maps the components through a palette ('pclr' box). */
  readonly palette: boolean;
}

export class Jp2FormatError extends Error {
  override name = 'Jp2FormatError';
}

const PROGRESSIONS = ['LRCP', 'RLCP', 'RPCL', 'PCRL', 'CPRL'] as const;
/** How much of the codestream is read to find SIZ and COD: main headers are a few hundred bytes. */
const MAIN_HEADER_BYTES = 64 * 1024;

/** Up to `length` bytes at `offset`: fewer where the file (or `size`, the end of a box) ends first. */
async function readAt(file: RangeReader, offset: number, length: number, size: number): Promise<Buffer> {
  const wanted = Math.max(0, Math.min(length, size - offset, file.size - offset));
  return wanted === 0 ? Buffer.alloc(0) : file.read(offset, wanted);
}

interface Box {
  readonly type: string;
  /** Where the box's content starts, and its length. */
  readonly offset: number;
  readonly length: number;
}

/** The boxes from `start` to `end`, top level only; stops after `last`. */
async function* boxes(file: RangeReader, start: number, end: number, last?: string): AsyncGenerator<Box> {
  let offset = start;
  while (offset + 8 <= end) {
    const head = await readAt(file, offset, 16, end);
    if (head.length < 8) break;
    let length = head.readUInt32BE(0);
    const type = head.toString('latin1', 4, 8);
    let headerLength = 8;
    if (length === 1) {
      if (head.length < 16) throw new Jp2FormatError('truncated JP2 box header');
      length = Number(head.readBigUInt64BE(8));
      headerLength = 16;
    } else if (length === 0) {
      length = end - offset;
    }
    if (length < headerLength) throw new Jp2FormatError(`JP2 box '${type}' has an invalid length`);
    yield { type, offset: offset + headerLength, length: Math.min(length, end - offset) - headerLength };
    if (type === last) return;
    offset += length;
  }
}

/**
 * The JP2 box holding the codestream ('jp2c'), walking the top-level boxes, and the ICC profile of
 * the header's first colour box (method 2 or 3: the spec says a reader uses the first it understands,
 * and an enumerated sRGB or greyscale one needs nothing).
 */
async function findCodestream(
  file: RangeReader,
  size: number,
): Promise<{ offset: number; length: number } & Pick<Jp2Header, 'icc' | 'enumeratedColour' | 'palette'>> {
  let icc: Jp2Header['icc'];
  let enumeratedColour: number | undefined;
  let palette = false;
  let colourSeen = false;
  for await (const box of boxes(file, 0, size, 'jp2c')) {
    if (box.type === 'jp2c') return { offset: box.offset, length: box.length, icc, enumeratedColour, palette };
    if (box.type !== 'jp2h') continue;
    for await (const inner of boxes(file, box.offset, box.offset + box.length)) {
      palette ||= inner.type === 'pclr';
      if (inner.type !== 'colr' || colourSeen || inner.length < 3) continue;
      colourSeen = true;
      const method = (await readAt(file, inner.offset, 1, size))[0];
      if ((method === 2 || method === 3) && inner.length > 3 + 128) icc = { offset: inner.offset + 3, length: inner.length - 3 };
      if (method === 1 && inner.length >= 7) enumeratedColour = (await readAt(file, inner.offset + 3, 4, size)).readUInt32BE(0);
    }
  }
  throw new Jp2FormatError('no codestream box (jp2c) in the JP2 file');
}

/**
 * Reads a JPEG 2000 file's header: the JP2 boxes up to the codestream, then the codestream's main
 * header markers up to the first tile (SIZ for the geometry, COD for resolutions and coding).
 */
export async function readJp2Header(file: RangeReader, size: number = file.size): Promise<Jp2Header> {
  const start = await readAt(file, 0, 12, size);
  const raw = start.length >= 4 && start.readUInt32BE(0) === 0xff4fff51;
  const { offset, length, icc, enumeratedColour, palette } = raw
    ? { offset: 0, length: size, icc: undefined, enumeratedColour: undefined, palette: false }
    : await findCodestream(file, size);
  const main = await readAt(file, offset, Math.min(length, MAIN_HEADER_BYTES), size);
  if (main.length < 4 || main.readUInt16BE(0) !== 0xff4f) throw new Jp2FormatError('the codestream does not start with SOC');

  let siz: Omit<Jp2Header, 'container' | 'fileSize' | 'codestreamOffset' | 'codestreamLength' | 'resolutions' | 'layers' | 'progression' | 'reversible' | 'palette' | 'packedHeaders'> | undefined;
  let cod: Pick<Jp2Header, 'resolutions' | 'layers' | 'progression' | 'reversible'> | undefined;
  let htj2k = false;
  let at = 2;
  let packedHeaders = false;
  // The whole main header (PPM segments may come after SIZ and COD), as far as the bytes read reach.
  while (at + 4 <= main.length) {
    const marker = main.readUInt16BE(at);
    if (marker === 0xff90 || marker === 0xff93) break; // SOT, SOD: the main header is over
    const segment = main.readUInt16BE(at + 2);
    const body = at + 4;
    if (segment < 2 || body + segment - 2 > main.length) {
      if (siz && cod && segment >= 2) break; // a long segment past what was read (packed headers)
      throw new Jp2FormatError('truncated codestream main header');
    }
    packedHeaders ||= marker === 0xff60; // PPM
    // SIZ holds 38 bytes before its per-component fields (3 bytes each), COD at least 10.
    if ((marker === 0xff51 && segment < 41) || (marker === 0xff52 && segment < 12)) {
      throw new Jp2FormatError(`${marker === 0xff51 ? 'SIZ' : 'COD'} marker segment too short (${segment} bytes)`);
    }
    if (marker === 0xff51) {
      const rsiz = main.readUInt16BE(body);
      htj2k ||= (rsiz & 0x4000) !== 0;
      const x1 = main.readUInt32BE(body + 2);
      const y1 = main.readUInt32BE(body + 6);
      const x0 = main.readUInt32BE(body + 10);
      const y0 = main.readUInt32BE(body + 14);
      const tileWidth = main.readUInt32BE(body + 18);
      const tileHeight = main.readUInt32BE(body + 22);
      const tileX0 = main.readUInt32BE(body + 26);
      const tileY0 = main.readUInt32BE(body + 30);
      const components = main.readUInt16BE(body + 34);
      const precision = (main[body + 36]! & 0x7f) + 1;
      if (segment < 38 + 3 * components) throw new Jp2FormatError(`SIZ marker segment too short for ${components} components`);
      let subsampled = false;
      for (let c = 0; c < components; c++) subsampled ||= main[body + 37 + 3 * c]! > 1 || main[body + 38 + 3 * c]! > 1;
      siz = { x0, y0, x1, y1, tileWidth, tileHeight, tileX0, tileY0, components, precision, htj2k, subsampled };
    } else if (marker === 0xff52) {
      const progression = PROGRESSIONS[main[body + 1]!];
      if (!progression) throw new Jp2FormatError('unknown progression order in COD');
      const layers = main.readUInt16BE(body + 2);
      const decompositions = main[body + 5]!;
      const codeBlockStyle = main[body + 8]!;
      htj2k ||= (codeBlockStyle & 0x40) !== 0;
      cod = { resolutions: decompositions + 1, layers, progression, reversible: main[body + 9] === 1 };
    } else if (marker === 0xff50) {
      htj2k = true; // CAP: Part 15 capabilities
    }
    at = body + segment - 2;
  }
  if (!siz) throw new Jp2FormatError('no SIZ marker in the codestream main header');
  if (!cod) throw new Jp2FormatError('no COD marker in the codestream main header');
  if (siz.x1 <= siz.x0 || siz.y1 <= siz.y0 || siz.components < 1) throw new Jp2FormatError('the codestream declares an empty image');
  return { container: raw ? 'j2k' : 'jp2', fileSize: size, codestreamOffset: offset, codestreamLength: length, ...siz, ...cod, htj2k, icc, enumeratedColour, palette, packedHeaders };
}

/** The size of resolution level `reduce` (0: full) of an area on the reference grid. */
export function reducedSize(header: Pick<Jp2Header, 'x0' | 'y0' | 'x1' | 'y1'>, reduce: number): { width: number; height: number } {
  const f = 2 ** reduce;
  return {
    width: Math.ceil(header.x1 / f) - Math.ceil(header.x0 / f),
    height: Math.ceil(header.y1 / f) - Math.ceil(header.y0 / f),
  };
}
