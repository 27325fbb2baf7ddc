import { badRequest } from './errors.js';
import {
  FORMATS,
  QUALITIES,
  type ApiVersion,
  type Format,
  type ParsedImageRequest,
  type Quality,
  type RegionSpec,
  type SizeSpec,
} from './request.js';

/**
 * The URL grammars of Image API 2.1 and 3.0 for the four request segments. The two versions differ
 * only in the size segment (2.1 has `full`, 3.0 has `^`); everything else is shared.
 */
const INTEGER = /^\d+$/;
const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/;
const KNOWN_BUT_UNSUPPORTED_FORMATS = new Set(['jp2', 'pdf', 'jpeg', 'tiff']);

function int(text: string, segment: string, raw: string): number {
  if (!INTEGER.test(text)) throw badRequest(`${segment} '${raw}': '${text}' is not a non-negative integer`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw badRequest(`${segment} '${raw}': '${text}' is too large`);
  return value;
}

function decimal(text: string, segment: string, raw: string): number {
  if (!DECIMAL.test(text)) throw badRequest(`${segment} '${raw}': '${text}' is not a non-negative number`);
  const value = Number(text);
  // Hundreds of digits read as Infinity, which later messages would quote instead of what was sent.
  if (!Number.isFinite(value)) throw badRequest(`${segment} '${raw}': '${text}' is too large`);
  return value;
}

function fourNumbers(text: string, raw: string, parse: typeof int): [number, number, number, number] {
  const parts = text.split(',');
  if (parts.length !== 4) throw badRequest(`region '${raw}': expected x,y,w,h`);
  const [x, y, w, h] = parts.map((p) => parse(p, 'region', raw)) as [number, number, number, number];
  if (w <= 0 || h <= 0) throw badRequest(`region '${raw}': width and height must be greater than 0`);
  return [x, y, w, h];
}

export function parseRegion(raw: string): RegionSpec {
  if (raw === 'full' || raw === 'square') return { kind: raw };
  if (raw.startsWith('pct:')) {
    const [x, y, w, h] = fourNumbers(raw.slice(4), raw, decimal);
    return { kind: 'pct', x, y, w, h };
  }
  const [x, y, w, h] = fourNumbers(raw, raw, int);
  return { kind: 'px', x, y, w, h };
}

export function parseSize(raw: string, version: ApiVersion): SizeSpec {
  let text = raw;
  let upscale = false;
  if (version === 3) {
    if (text.startsWith('^')) {
      upscale = true;
      text = text.slice(1);
    }
    if (text === 'full') throw badRequest(`size '${raw}': 'full' is not a 3.0 size, use 'max'`);
  } else {
    // 2.1 allows sizes above the region (sizeAboveFull) without a prefix.
    if (text.startsWith('^')) throw badRequest(`size '${raw}': '^' is not part of the 2.1 syntax`);
    upscale = true;
    if (text === 'full') return { kind: 'full', upscale: false };
    // 2.1 `max` is `full` unless maxWidth/maxHeight/maxArea make it smaller: never above the region.
    if (text === 'max') return { kind: 'max', upscale: false };
  }
  if (text === 'max') return { kind: 'max', upscale };
  if (text.startsWith('pct:')) {
    const pct = decimal(text.slice(4), 'size', raw);
    if (pct <= 0) throw badRequest(`size '${raw}': percentage must be greater than 0`);
    return { kind: 'pct', pct, upscale };
  }
  const confined = text.startsWith('!');
  if (confined) text = text.slice(1);
  const parts = text.split(',');
  if (parts.length !== 2) throw badRequest(`size '${raw}': expected max, w,, ,h, w,h, !w,h or pct:n`);
  const [ws, hs] = parts as [string, string];
  if (confined || (ws !== '' && hs !== '')) {
    const w = int(ws, 'size', raw);
    const h = int(hs, 'size', raw);
    if (w === 0 || h === 0) throw badRequest(`size '${raw}': width and height must be greater than 0`);
    return confined ? { kind: 'confined', w, h, upscale } : { kind: 'wh', w, h, upscale };
  }
  if (ws !== '') {
    const w = int(ws, 'size', raw);
    if (w === 0) throw badRequest(`size '${raw}': width must be greater than 0`);
    return { kind: 'w', w, upscale };
  }
  if (hs !== '') {
    const h = int(hs, 'size', raw);
    if (h === 0) throw badRequest(`size '${raw}': height must be greater than 0`);
    return { kind: 'h', h, upscale };
  }
  throw badRequest(`size '${raw}': neither width nor height given`);
}

export function parseRotation(raw: string): { mirror: boolean; rotation: number } {
  const mirror = raw.startsWith('!');
  const text = mirror ? raw.slice(1) : raw;
  if (!DECIMAL.test(text)) throw badRequest(`rotation '${raw}': expected a number from 0 to 360, optionally after '!'`);
  const rotation = Number(text);
  if (rotation > 360) throw badRequest(`rotation '${raw}': must be between 0 and 360`);
  return { mirror, rotation: rotation === 360 ? 0 : rotation };
}

export function parseQualityFormat(raw: string): { quality: Quality; format: Format } {
  const dot = raw.lastIndexOf('.');
  if (dot <= 0) throw badRequest(`quality.format '${raw}': expected quality.format, for example default.jpg`);
  const quality = raw.slice(0, dot);
  const format = raw.slice(dot + 1);
  if (!(QUALITIES as readonly string[]).includes(quality)) {
    throw badRequest(`quality '${quality}': supported qualities are ${QUALITIES.join(', ')}`);
  }
  if (!(FORMATS as readonly string[]).includes(format)) {
    const why = KNOWN_BUT_UNSUPPORTED_FORMATS.has(format) ? 'is not supported' : 'is not an Image API format';
    throw badRequest(`format '${format}' ${why}; supported formats are ${FORMATS.join(', ')}`);
  }
  return { quality: quality as Quality, format: format as Format };
}

/** Parses the four request segments of either version into the version-neutral request. */
export function parseImageRequest(
  version: ApiVersion,
  region: string,
  size: string,
  rotation: string,
  qualityFormat: string,
): ParsedImageRequest {
  return {
    version,
    region: parseRegion(region),
    size: parseSize(size, version),
    ...parseRotation(rotation),
    ...parseQualityFormat(qualityFormat),
  };
}
