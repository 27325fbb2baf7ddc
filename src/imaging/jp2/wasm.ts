import { createRequire } from 'node:module';
import type { ImageSource } from '../source.js';
import type { Jp2Header } from './codestream.js';
import type { Jp2Decoder, Jp2Pixels, Jp2Rect } from './decoder.js';

/** The part of @cornerstonejs/codec-openjpeg's decoder (OpenJPEG compiled to WebAssembly) used here. */
interface WasmJ2kDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decodeSubResolution(decodeLevel: number, decodeLayer: number): void;
  calculateSizeAtDecompositionLevel(decodeLevel: number): { width: number; height: number };
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned: boolean };
  getDecodedBuffer(): Uint8Array;
  delete(): void;
}
interface WasmModule {
  J2KDecoder: new () => WasmJ2kDecoder;
}
type WasmFactory = (options: { print: (text: string) => void; printErr: (text: string) => void }) => Promise<WasmModule>;

let loading: Promise<WasmModule> | undefined;

function loadModule(): Promise<WasmModule> {
  // Its [INFO] lines would go to stdout: silenced. Errors surface as exceptions from decode.
  loading ??= (createRequire(import.meta.url)('@cornerstonejs/codec-openjpeg/decodewasmjs') as WasmFactory)({
    print: () => undefined,
    printErr: () => undefined,
  });
  return loading;
}

/** Decodes are serialised: each holds a whole level in WebAssembly memory, which never shrinks. */
let queue: Promise<unknown> = Promise.resolve();

function toEightBits(decoded: Uint8Array, frame: ReturnType<WasmJ2kDecoder['getFrameInfo']>, samples: number): Uint8Array {
  if (frame.bitsPerSample <= 8 && !frame.isSigned) return decoded;
  const out = new Uint8Array(samples);
  const wide = frame.bitsPerSample > 8;
  const view = wide ? new DataView(decoded.buffer, decoded.byteOffset, decoded.byteLength) : undefined;
  const offset = frame.isSigned ? 1 << (frame.bitsPerSample - 1) : 0;
  const shift = Math.max(0, frame.bitsPerSample - 8);
  for (let i = 0; i < samples; i++) {
    const raw = view ? (frame.isSigned ? view.getInt16(i * 2, true) : view.getUint16(i * 2, true)) : frame.isSigned ? (decoded[i]! << 24) >> 24 : decoded[i]!;
    out[i] = Math.max(0, Math.min(255, (raw + offset) >> shift));
  }
  return out;
}

/** Enumerated JP2 colour spaces shown as they are decoded: sRGB and greyscale. */
const PLAIN_COLOUR = new Set([16, 17]);

/**
 * Why this WebAssembly build cannot show `header` right, if it cannot: it decodes the codestream
 * only (no palette, no colour conversion, no upsampling), and a wrong picture must not pass for the
 * image. `iccByCaller`: the caller applies the ICC profile itself (conversion writes it into a TIFF).
 */
export function wasmCannotDecode(header: Jp2Header, iccByCaller: boolean): string | undefined {
  const why = header.palette
    ? 'a palette'
    : header.subsampled
      ? 'subsampled components'
      : header.enumeratedColour !== undefined && !PLAIN_COLOUR.has(header.enumeratedColour)
        ? `colour space ${header.enumeratedColour}`
        : header.icc && !iccByCaller
          ? 'an ICC profile'
          : undefined;
  return why && `the WebAssembly JPEG 2000 decoder cannot render ${why}; build the native addon with OpenJPEG (and Little CMS)`;
}

async function decodeLevel(source: ImageSource, header: Jp2Header, reduce: number, rect: Jp2Rect): Promise<Jp2Pixels> {
  const module = await loadModule();
  const codestream = await source.readBytes(header.codestreamOffset, header.codestreamLength);
  const decoder = new module.J2KDecoder();
  try {
    decoder.getEncodedBuffer(codestream.length).set(codestream);
    try {
      decoder.decodeSubResolution(reduce, 0);
    } catch (error) {
      throw new Error(`OpenJPEG (WebAssembly) could not decode the file: ${error instanceof Error ? error.message : String(error)}`);
    }
    const frame = decoder.getFrameInfo();
    const { width, height } = decoder.calculateSizeAtDecompositionLevel(reduce);
    const components = frame.componentCount;
    if (components < 1 || components > 4) throw new Error(`${components} components: not a greyscale or RGB image`);
    const level = toEightBits(decoder.getDecodedBuffer(), frame, width * height * components);
    // Copy the rectangle out of WebAssembly memory (the decoder's buffers go with delete()).
    const outWidth = rect.right - rect.left;
    const outHeight = rect.bottom - rect.top;
    const data = Buffer.allocUnsafe(outWidth * outHeight * components);
    const rowBytes = outWidth * components;
    for (let y = 0; y < outHeight; y++) {
      const from = ((rect.top + y) * width + rect.left) * components;
      data.set(level.subarray(from, from + rowBytes), y * rowBytes);
    }
    return { data, width: outWidth, height: outHeight, channels: components as Jp2Pixels['channels'] };
  } finally {
    decoder.delete();
  }
}

/**
 * The fallback for machines where the native addon has no OpenJPEG: OpenJPEG compiled to
 * WebAssembly (npm @cornerstonejs/codec-openjpeg). It has no decode area, so every request decodes
 * a whole resolution level (the reduced one that suffices) and crops it: correct, but seconds for
 * a large image at full resolution.
 */
export function wasmDecoder(iccByCaller = false): Jp2Decoder {
  return {
    kind: 'wasm',
    description: 'OpenJPEG (WebAssembly fallback: decodes whole resolution levels, slow on large images; install libopenjp2-7-dev and npm rebuild)',
    decodesArea: false,
    appliesIcc: false,
    decode(source, header, reduce, rect) {
      const refused = wasmCannotDecode(header, iccByCaller);
      if (refused) return Promise.reject(new Error(refused));
      const result = queue.then(() => decodeLevel(source, header, reduce, rect));
      queue = result.catch(() => undefined);
      return result;
    },
  };
}
