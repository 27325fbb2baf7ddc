/** The request paths a benchmark cycles through, for both servers (same regions and sizes). */
export interface BenchRequest {
  readonly region: string;
  /** Size in the 3.0 form (w,h) and in the 2.x form (w,), which iipsrv 1.1 speaks. */
  readonly size3: string;
  readonly size2: string;
  /** Rotation (with `!` for mirroring) and quality; `0` and `default` when absent. */
  readonly rotation?: string;
  readonly quality?: string;
}

const TILE = 256;

/**
 * Every tile URL OpenSeadragon asks for over a whole pyramid: for each scale factor (halvings until the
 * image fits one tile), every tile of that level, edge tiles included, in its IIIF tile-request form.
 */
export function openSeadragonTiles(width: number, height: number): BenchRequest[] {
  const requests: BenchRequest[] = [];
  for (let scale = 1; ; scale *= 2) {
    const levelWidth = Math.ceil(width / scale);
    const levelHeight = Math.ceil(height / scale);
    if (levelWidth <= TILE && levelHeight <= TILE) {
      requests.push({ region: 'full', size3: `${levelWidth},${levelHeight}`, size2: `${levelWidth},` });
      break;
    }
    const span = TILE * scale;
    for (let y = 0; y < height; y += span) {
      for (let x = 0; x < width; x += span) {
        const w = Math.min(span, width - x);
        const h = Math.min(span, height - y);
        const sw = Math.ceil(w / scale);
        const sh = Math.ceil(h / scale);
        requests.push({ region: `${x},${y},${w},${h}`, size3: `${sw},${sh}`, size2: `${sw},` });
      }
    }
  }
  return requests;
}

/** A small deterministic PRNG (mulberry32), so every run asks for the same "random" requests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Arbitrary regions (100–3000 px a side, anywhere) scaled to arbitrary widths (64–1024 px, never
 * upscaled), the kind of request a thumbnail strip, a crop tool or a zoomed viewport makes.
 */
export function randomRegions(width: number, height: number, count: number, seed = 20261122): BenchRequest[] {
  const random = prng(seed);
  const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const requests: BenchRequest[] = [];
  for (let i = 0; i < count; i++) {
    const w = between(100, 3000);
    const h = between(100, 3000);
    const x = between(0, width - w);
    const y = between(0, height - h);
    const sw = Math.min(w, between(64, 1024));
    const sh = Math.max(1, Math.round((h * sw) / w));
    requests.push({ region: `${x},${y},${w},${h}`, size3: `${sw},${sh}`, size2: `${sw},` });
  }
  return requests;
}

/** Shares of each quality, and of requests turned by 90/180/270 or mirrored, in a mix of regions. */
export interface RegionMix {
  readonly qualities: ReadonlyArray<readonly [number, string]>;
  readonly turned: number;
}

/** What an audience sends (issue 15): 60 % default, 20 % gray, 10 % bitonal, 10 % color; 20 % turned or mirrored. */
export const AUDIENCE_MIX: RegionMix = { qualities: [[0.6, 'default'], [0.2, 'gray'], [0.1, 'bitonal'], [0.1, 'color']], turned: 0.2 };
/** The first measurement: 80 % default, 20 % gray, nothing turned. */
export const DEFAULT_GRAY_MIX: RegionMix = { qualities: [[0.8, 'default'], [0.2, 'gray']], turned: 0 };

/**
 * Regions as an audience asks for them (issue 15): anywhere, of any size from 100 px to the whole
 * image (log-uniform, so crops shown larger than they are stored are common), output widths 50–950
 * px, upscaling kept within 4,000 px, qualities and turns in the shares of `mix`. Upscaled sizes
 * carry `^`, as Image API 3.0 requires.
 */
export function audienceRegions(width: number, height: number, count: number, seed = 20261129, mix: RegionMix = AUDIENCE_MIX): BenchRequest[] {
  const random = prng(seed);
  const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const logBetween = (lo: number, hi: number): number => Math.round(Math.exp(Math.log(lo) + random() * (Math.log(hi) - Math.log(lo))));
  const pick = <T>(choices: ReadonlyArray<readonly [number, T]>): T => {
    let r = random();
    for (const [p, value] of choices) if ((r -= p) < 0) return value;
    return choices.at(-1)![1];
  };
  const requests: BenchRequest[] = [];
  while (requests.length < count) {
    const w = logBetween(100, width);
    const h = Math.min(height, Math.max(16, Math.round(w * logBetween(33, 300) / 100)));
    const x = between(0, width - w);
    const y = between(0, height - h);
    const sw = between(50, 950);
    const sh = Math.max(1, Math.round((h * sw) / w));
    if (sh > 4000) continue;
    const up = sw > w || sh > h ? '^' : '';
    const quality = pick(mix.qualities);
    // The same draws whatever the mix, so that two mixes share their regions and sizes.
    const turn = random();
    const rotation = turn < mix.turned ? pick([[0.25, '90'], [0.25, '180'], [0.25, '270'], [0.25, '!0']] as const) : '0';
    requests.push({ region: `${x},${y},${w},${h}`, size3: `${up}${sw},${sh}`, size2: `${sw},`, rotation, quality });
  }
  return requests;
}

/** `count` distinct requests picked at random (fixed seed) from all of them: the sample whose answers are checked. */
export function sampleOf<T>(items: readonly T[], count: number, seed = 14): T[] {
  if (count >= items.length) return [...items];
  const random = prng(seed);
  const pool = [...items];
  // A partial Fisher–Yates shuffle: the first `count` places end up a uniform sample.
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count);
}
