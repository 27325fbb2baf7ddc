import type { Level } from './source.js';

/**
 * Whether a level's stored pixels must go through libvips' colour conversion before they are shown:
 * it embeds an ICC profile that is not sRGB's. Such a level is never answered with its stored JPEG
 * tiles as they are, nor decoded by libjpeg-turbo alone, so that every request (a zoomed tile, a
 * region, a thumbnail) shows the same colours.
 */
export function needsColourConversion(level: Pick<Level, 'iccProfile' | 'iccProfileSrgb'>): boolean {
  return level.iccProfile === true && level.iccProfileSrgb !== true;
}

/**
 * Whether an embedded ICC profile describes sRGB (or sRGB's tone curve, for a grey profile): pixels
 * tagged with it are already what a browser shows, so stored JPEG tiles can be sent as they are and
 * decoded without a colour transform. Any other profile (Adobe RGB, ProPhoto, Display P3, a gamma
 * 2.2 grey, a LUT-based profile this does not evaluate) needs libvips' conversion to sRGB.
 *
 * Decided from the profile's content, not its name: the colorants (rXYZ, gXYZ, bXYZ, adapted to D50
 * as ICC profiles store them) must be sRGB's within 0.005, and every tone curve (curv or para) must
 * follow sRGB's within 1.5 % (plus 0.0005) at points across the range.
 */
export function isSrgbProfile(profile: Buffer): boolean {
  try {
    if (profile.length < 132) return false;
    const space = profile.toString('latin1', 16, 20);
    const tags = readTags(profile);
    if (space === 'GRAY') return curveIsSrgb(profile, tags.get('kTRC'));
    if (space !== 'RGB ' || profile.toString('latin1', 20, 24) !== 'XYZ ') return false;
    for (const [tag, want] of SRGB_COLORANTS) {
      const xyz = readXyz(profile, tags.get(tag));
      if (!xyz || xyz.some((v, i) => Math.abs(v - want[i]!) > 0.005)) return false;
    }
    return ['rTRC', 'gTRC', 'bTRC'].every((tag) => curveIsSrgb(profile, tags.get(tag)));
  } catch {
    return false; // a profile cut short or malformed: not known to be sRGB
  }
}

/** sRGB's primaries as the ICC sRGB profiles store them (Bradford-adapted to D50). */
const SRGB_COLORANTS: ReadonlyArray<[string, readonly number[]]> = [
  ['rXYZ', [0.4361, 0.2225, 0.0139]],
  ['gXYZ', [0.3851, 0.7169, 0.0971]],
  ['bXYZ', [0.1431, 0.0606, 0.7141]],
];

type Tag = { offset: number; size: number };

function readTags(profile: Buffer): Map<string, Tag> {
  const count = profile.readUInt32BE(128);
  const tags = new Map<string, Tag>();
  for (let i = 0; i < Math.min(count, 1024); i++) {
    const at = 132 + i * 12;
    if (at + 12 > profile.length) break;
    const offset = profile.readUInt32BE(at + 4);
    const size = profile.readUInt32BE(at + 8);
    if (offset + size <= profile.length) tags.set(profile.toString('latin1', at, at + 4), { offset, size });
  }
  return tags;
}

const s15Fixed16 = (profile: Buffer, at: number): number => profile.readInt32BE(at) / 65536;

function readXyz(profile: Buffer, tag: Tag | undefined): number[] | undefined {
  if (!tag || tag.size < 20 || profile.toString('latin1', tag.offset, tag.offset + 4) !== 'XYZ ') return undefined;
  return [0, 1, 2].map((i) => s15Fixed16(profile, tag.offset + 8 + i * 4));
}

/** sRGB's decoding curve (IEC 61966-2-1): encoded value → linear light. */
function srgbToLinear(x: number): number {
  return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
}

function curveIsSrgb(profile: Buffer, tag: Tag | undefined): boolean {
  const curve = tag && readCurve(profile, tag);
  if (!curve) return false;
  return [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1].every((x) => {
    const want = srgbToLinear(x);
    return Math.abs(curve(x) - want) <= 0.0005 + 0.015 * want;
  });
}

/** A tone curve (curv or para type) as a function on [0, 1], or undefined for other types. */
function readCurve(profile: Buffer, tag: Tag): ((x: number) => number) | undefined {
  const type = profile.toString('latin1', tag.offset, tag.offset + 4);
  if (type === 'curv') {
    const count = profile.readUInt32BE(tag.offset + 8);
    if (count === 0) return (x) => x;
    if (count === 1) {
      const gamma = profile.readUInt16BE(tag.offset + 12) / 256;
      return (x) => x ** gamma;
    }
    if (tag.size < 12 + count * 2) return undefined;
    const table = Array.from({ length: count }, (_, i) => profile.readUInt16BE(tag.offset + 12 + i * 2) / 65535);
    return (x) => {
      const at = x * (count - 1);
      const i = Math.min(count - 2, Math.floor(at));
      return table[i]! + (table[i + 1]! - table[i]!) * (at - i);
    };
  }
  if (type === 'para') {
    const fn = profile.readUInt16BE(tag.offset + 8);
    const arity = [1, 3, 4, 5, 7][fn];
    if (arity === undefined || tag.size < 12 + arity * 4) return undefined;
    const [g, a = 1, b = 0, c = 0, d = 0, e = 0, f = 0] = Array.from({ length: arity }, (_, i) => s15Fixed16(profile, tag.offset + 12 + i * 4));
    const power = (x: number) => {
      const base = a * x + b;
      return base > 0 ? base ** g! : 0;
    };
    switch (fn) {
      case 0:
        return (x) => x ** g!;
      case 1:
        return (x) => (x >= -b / a ? power(x) : 0);
      case 2:
        return (x) => (x >= -b / a ? power(x) + c : c);
      case 3:
        return (x) => (x >= d ? power(x) : c * x);
      default:
        return (x) => (x >= d ? power(x) + e : c * x + f);
    }
  }
  return undefined;
}
