import fc from 'fast-check';
import { FORMATS, QUALITIES, type ApiVersion, type Dimensions, type SizeLimits } from '../../src/image-api/request.js';

/**
 * fast-check generators for Image API request segments: valid ones (shaped by the image they will
 * be resolved against, so most of them resolve) and hostile ones (anything a client could send).
 *
 * Every property using them runs with a fixed seed so a failure is reproducible; fast-check prints
 * the seed and the shrunk counterexample. To explore other inputs, set FC_SEED (and FC_RUNS):
 *   FC_SEED=12345 FC_RUNS=5000 node --import tsx --test test/image-api/grammar-properties.test.ts
 */
export const SEED = Number(process.env.FC_SEED ?? 20_261_129);
export const runs = (fallback: number): number => Number(process.env.FC_RUNS ?? fallback);

const digits = (max: number) => fc.stringMatching(new RegExp(`^\\d{0,${max}}$`));

/** A non-negative decimal as a client may write it: `7`, `07`, `7.`, `7.50`, `.5`, `0.0000001`. */
export function decimalText(maxInteger: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.integer({ min: 0, max: maxInteger }).map(String),
    fc.tuple(fc.integer({ min: 0, max: maxInteger }), digits(8)).map(([i, f]) => `${i}.${f}`),
    fc.tuple(fc.integer({ min: 0, max: maxInteger }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 9 }))
      .map(([i, zeros, d]) => `${i}.${'0'.repeat(zeros)}${d}`),
    digits(8).filter((f) => f !== '').map((f) => `.${f}`),
    fc.integer({ min: 0, max: maxInteger }).map((i) => `00${i}`),
  );
}

export const imageSize: fc.Arbitrary<Dimensions> = fc.record({
  width: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 6000 })),
  height: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 6000 })),
});

/** Server limits; maxHeight only with maxWidth, as the Image API requires. */
export const sizeLimits: fc.Arbitrary<SizeLimits> = fc.oneof(
  fc.constant({}),
  fc.record({ maxArea: fc.integer({ min: 1, max: 30_000_000 }) }),
  fc.record(
    {
      maxWidth: fc.integer({ min: 1, max: 7000 }),
      maxHeight: fc.integer({ min: 1, max: 7000 }),
      maxArea: fc.integer({ min: 1, max: 30_000_000 }),
    },
    { requiredKeys: ['maxWidth'] },
  ),
);

export function validRegion(image: Dimensions): fc.Arbitrary<string> {
  const { width: W, height: H } = image;
  return fc.oneof(
    fc.constantFrom('full', 'square'),
    fc
      .tuple(fc.integer({ min: 0, max: W - 1 }), fc.integer({ min: 0, max: H - 1 }), fc.integer({ min: 1, max: W + 5 }), fc.integer({ min: 1, max: H + 5 }))
      .map((n) => n.join(',')),
    fc.tuple(decimalText(99), decimalText(99), decimalText(120), decimalText(120)).map((n) => `pct:${n.join(',')}`),
  );
}

export function validSize(version: ApiVersion, image: Dimensions): fc.Arbitrary<string> {
  const side = fc.integer({ min: 1, max: 2 * Math.max(image.width, image.height) + 10 });
  const bare = fc.oneof(
    fc.constant('max'),
    side.map((w) => `${w},`),
    side.map((h) => `,${h}`),
    decimalText(250).map((p) => `pct:${p}`),
    fc.tuple(side, side).map(([w, h]) => `${w},${h}`),
    fc.tuple(side, side).map(([w, h]) => `!${w},${h}`),
  );
  if (version === 2) return fc.oneof(fc.constant('full'), bare);
  return fc.tuple(fc.boolean(), bare).map(([up, size]) => (up ? `^${size}` : size));
}

export const validRotation: fc.Arbitrary<string> = fc
  .tuple(fc.boolean(), fc.oneof(fc.constantFrom('0', '90', '180', '270', '360'), decimalText(360)))
  .map(([mirror, degrees]) => (mirror ? `!${degrees}` : degrees));

export const validQualityFormat: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...QUALITIES), fc.constantFrom(...FORMATS))
  .map(([quality, format]) => `${quality}.${format}`);

/** A request shaped for `image`: [region, size, rotation, quality.format]. */
export function validSegments(version: ApiVersion, image: Dimensions): fc.Arbitrary<[string, string, string, string]> {
  return fc.tuple(validRegion(image), validSize(version, image), validRotation, validQualityFormat);
}

/** Texts that look like numbers or keywords but are not, or sit on an edge of the grammar. */
const NASTY_TEXT = [
  '', ' ', '-0', '-1', 'NaN', 'Infinity', '-Infinity', '1e3', '0x10', '1_000', '+5', '١٢', '５', '9'.repeat(400),
  `${'9'.repeat(20)}.5`, `0.${'0'.repeat(400)}1`, `pct:${'9'.repeat(400)}`, `pct:0,0,${'9'.repeat(400)},1`, `pct:${'9'.repeat(400)},0,1,1`, '.', '..', ',', ',,,', 'pct:', '^', '!', '!!5', '^^max', 'full ', 'FULL',
  'Max', 'max,', 'pct:-5', 'pct:NaN', 'pct:1e2', '\u0000', '\uFEFF', 'é', '🙂', '/', '../..', 'default.', '.jpg',
  'default.jpg.jpg', 'default.JPG', 'default.jp2', 'native.jpg', 'grey.png', 'a.b.c', '\\', '?', '#',
];

/** Percent-encodings as sent: malformed, overlong, a lone surrogate, NUL, an encoded slash or dot-dot. */
const NASTY_WIRE = ['%', '%zz', '%4', '%C0%AF', '%ED%A0%80', '%FF', '%00', '%2F', '%2e%2e', '..%2F..%2Fetc', '%2C', '%5E', '%21'];

/**
 * A hostile segment as it goes on the wire: text from the grammar's alphabet and far beyond,
 * percent-encoded where the request line needs it (or deliberately mis-encoded), never a raw `/`.
 */
export const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NASTY_TEXT).map(encodeURIComponent),
  fc.constantFrom(...NASTY_WIRE),
  fc.stringMatching(/^[\^!]?(pct:)?[-+0-9.,eE]{0,24}$/),
  fc.array(fc.constantFrom('0', '1', '9', '.', ',', ':', '!', '^', '-', 'e', 'pct:', 'max', 'full', 'square', '%', '%2C', '%21'), { maxLength: 12 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary-ascii', maxLength: 20 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent),
  fc.tuple(fc.double(), fc.double(), fc.double(), fc.double()).map((n) => encodeURIComponent(n.map(String).join(','))),
  fc
    .tuple(fc.constantFrom('', 'pct:', '^', '!', '^!', '^pct:'), fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }))
    .map(([prefix, n]) => encodeURIComponent(`${prefix}${n},${n}`)),
);

/** A wire segment as the server decodes it, or as sent when it does not decode. */
export function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
