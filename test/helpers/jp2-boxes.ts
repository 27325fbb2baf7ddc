// JP2 files around codestreams that opj_compress writes, for the colour flavours opj_compress cannot
// declare itself (ICC profiles, CIELab, sYCC, e-sYCC, CMYK, palettes), and the ICC profiles to put in
// them. Box layout from ITU-T T.800 Annex I; ICC tags from ICC.1 (version 2).

/** How the 'colr' box gives the colours: an enumerated colour space, or an ICC profile. */
export type Jp2Colour = { readonly enumerated: number } | { readonly icc: Buffer };

/** A palette: `entries[i]` is the colour of index i, `bits` per column. Applied to component 0. */
export interface Jp2Palette {
  readonly entries: readonly (readonly number[])[];
  readonly bits: number;
}

function box(type: string, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

/** Wraps a raw codestream (SOC…EOC) in the boxes of a JP2 file; `lastIsAlpha` adds a 'cdef' box saying so. */
export function jp2File(codestream: Buffer, colour: Jp2Colour, palette?: Jp2Palette, lastIsAlpha = false): Buffer {
  if (codestream.readUInt32BE(0) !== 0xff4fff51) throw new Error('not a codestream (SOC SIZ expected)');
  // SIZ: Xsiz Ysiz XOsiz YOsiz at 8…24, Csiz at 40, then Ssiz of component 0.
  const width = codestream.readUInt32BE(8) - codestream.readUInt32BE(16);
  const height = codestream.readUInt32BE(12) - codestream.readUInt32BE(20);
  const components = codestream.readUInt16BE(40);
  const ihdr = Buffer.alloc(14);
  ihdr.writeUInt32BE(height, 0);
  ihdr.writeUInt32BE(width, 4);
  ihdr.writeUInt16BE(components, 8);
  ihdr[10] = codestream[42]!; // bits per component: component 0's Ssiz
  ihdr[11] = 7; // compression: JPEG 2000
  const colr =
    'icc' in colour ? Buffer.concat([Buffer.from([2, 0, 0]), colour.icc]) : Buffer.concat([Buffer.from([1, 0, 0]), u32(colour.enumerated)]);
  const header = [box('ihdr', ihdr), box('colr', colr)];
  if (palette) {
    const columns = palette.entries[0]!.length;
    const bytes = Math.ceil(palette.bits / 8);
    const pclr = Buffer.alloc(3 + columns + palette.entries.length * columns * bytes);
    pclr.writeUInt16BE(palette.entries.length, 0);
    pclr[2] = columns;
    for (let c = 0; c < columns; c++) pclr[3 + c] = palette.bits - 1;
    let at = 3 + columns;
    for (const entry of palette.entries) {
      for (const value of entry) {
        pclr.writeUIntBE(value, at, bytes);
        at += bytes;
      }
    }
    // Every output channel from component 0 through column c of the palette.
    const cmap = Buffer.alloc(4 * columns);
    for (let c = 0; c < columns; c++) {
      cmap.writeUInt16BE(0, c * 4);
      cmap[c * 4 + 2] = 1;
      cmap[c * 4 + 3] = c;
    }
    header.push(box('pclr', pclr), box('cmap', cmap));
  }
  if (lastIsAlpha) {
    // Channel definitions: colours 1…n-1, then an opacity channel for the whole image.
    const cdef = Buffer.alloc(2 + 6 * components);
    cdef.writeUInt16BE(components, 0);
    for (let c = 0; c < components; c++) {
      cdef.writeUInt16BE(c, 2 + 6 * c);
      cdef.writeUInt16BE(c === components - 1 ? 1 : 0, 4 + 6 * c);
      cdef.writeUInt16BE(c === components - 1 ? 0 : c + 1, 6 + 6 * c);
    }
    header.push(box('cdef', cdef));
  }
  return Buffer.concat([
    box('jP  ', u32(0x0d0a870a)),
    box('ftyp', Buffer.from('jp2 ', 'latin1'), u32(0), Buffer.from('jp2 ', 'latin1')),
    box('jp2h', ...header),
    box('jp2c', codestream),
  ]);
}

const D50 = [0.9642, 1, 0.8249] as const;

function s15(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeInt32BE(Math.round(v * 65536), i * 4));
  return b;
}

function tag(type: string, ...content: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), Buffer.alloc(4), ...content]);
  return Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
}

/** A curve that is a pure gamma (u8Fixed8). */
function gammaCurve(gamma: number): Buffer {
  const g = Buffer.alloc(2);
  g.writeUInt16BE(Math.round(gamma * 256));
  return tag('curv', u32(1), g);
}

function description(text: string): Buffer {
  const ascii = Buffer.from(`${text}\0`, 'latin1');
  // ASCII count and text, then empty Unicode (language, count) and ScriptCode (code, count, 67 bytes).
  return tag('desc', u32(ascii.length), ascii, u32(0, 0), Buffer.alloc(3 + 67));
}

/**
 * A version 2 display profile with a gamma curve per channel: RGB with the given D50 primaries
 * (the columns of its matrix), or greyscale when none are given.
 */
export function iccProfile(name: string, gamma: number, primaries?: readonly (readonly [number, number, number])[]): Buffer {
  const tags: [string, Buffer][] = [
    ['desc', description(name)],
    ['wtpt', tag('XYZ ', s15(...D50))],
  ];
  if (primaries) {
    ['r', 'g', 'b'].forEach((c, i) => tags.push([`${c}XYZ`, tag('XYZ ', s15(...primaries[i]!))]));
    ['r', 'g', 'b'].forEach((c) => tags.push([`${c}TRC`, gammaCurve(gamma)]));
  } else {
    tags.push(['kTRC', gammaCurve(gamma)]);
  }
  const tableEnd = 128 + 4 + 12 * tags.length;
  const table = Buffer.alloc(4 + 12 * tags.length);
  table.writeUInt32BE(tags.length, 0);
  let offset = tableEnd;
  tags.forEach(([signature, data], i) => {
    table.write(signature, 4 + i * 12, 'latin1');
    table.writeUInt32BE(offset, 8 + i * 12);
    table.writeUInt32BE(data.length, 12 + i * 12);
    offset += data.length;
  });
  const header = Buffer.alloc(128);
  header.writeUInt32BE(offset, 0);
  header.writeUInt32BE(0x02100000, 8);
  header.write('mntr', 12, 'latin1');
  header.write(primaries ? 'RGB ' : 'GRAY', 16, 'latin1');
  header.write('XYZ ', 20, 'latin1');
  header.writeUInt16BE(2026, 24);
  header.writeUInt16BE(1, 26);
  header.writeUInt16BE(1, 28);
  header.write('acsp', 36, 'latin1');
  s15(...D50).copy(header, 68);
  return Buffer.concat([header, table, ...tags.map(([, data]) => data)]);
}

/** ROMM RGB (ProPhoto): its D50 primaries and gamma 1.8, a wide gamut far from sRGB's. */
export const ROMM_RGB = iccProfile('ROMM RGB (test)', 1.8, [
  [0.7977, 0.288, 0],
  [0.1352, 0.7119, 0.0001],
  [0.0313, 0.0001, 0.8249],
]);

/** A linear (gamma 1) greyscale profile: mid-greys come out much lighter in sRGB. */
export const LINEAR_GREY = iccProfile('Linear grey (test)', 1);

/**
 * The codestream with its packet headers moved into PPM segments of the main header ("packed packet
 * headers", as conformance stream p1_05 has them). It must have SOP and EPH markers (opj_compress
 * -SOP -EPH) and one tile-part per tile: each packet is then SOP, header up to its EPH, body up to
 * the next SOP (0xFF91 cannot occur inside coded data).
 */
export function packHeaders(codestream: Buffer): Buffer {
  let at = 2;
  while (codestream.readUInt16BE(at) !== 0xff90) at += 2 + codestream.readUInt16BE(at + 2);
  const main = codestream.subarray(0, at);
  const tiles: Buffer[] = [];
  const packed: Buffer[] = [];
  while (at + 12 <= codestream.length && codestream.readUInt16BE(at) === 0xff90) {
    const end = at + codestream.readUInt32BE(at + 6);
    let sod = at + 12;
    while (codestream.readUInt16BE(sod) !== 0xff93) sod += 2 + codestream.readUInt16BE(sod + 2);
    const data = codestream.subarray(sod + 2, end);
    const headers: Buffer[] = [];
    const bodies: Buffer[] = [];
    let p = 0;
    while (p < data.length) {
      if (data.readUInt16BE(p) !== 0xff91) throw new Error('packHeaders: expected SOP (opj_compress -SOP -EPH)');
      const eph = data.indexOf(Buffer.from([0xff, 0x92]), p + 6);
      if (eph < 0) throw new Error('packHeaders: expected EPH (opj_compress -SOP -EPH)');
      let next = data.indexOf(Buffer.from([0xff, 0x91]), eph + 2);
      if (next < 0) next = data.length;
      headers.push(data.subarray(p + 6, eph + 2));
      bodies.push(data.subarray(p, p + 6), data.subarray(eph + 2, next));
      p = next;
    }
    const header = Buffer.concat(headers);
    packed.push(u32(header.length), header);
    const body = Buffer.concat(bodies);
    const head = Buffer.from(codestream.subarray(at, sod + 2));
    head.writeUInt32BE(head.length + body.length, 6); // Psot
    tiles.push(head, body);
    at = end;
  }
  // PPM segments of at most 65535 bytes, numbered by Zppm.
  const all = Buffer.concat(packed);
  const segments: Buffer[] = [];
  for (let z = 0, from = 0; from < all.length; z++, from += 65000) {
    const chunk = all.subarray(from, from + 65000);
    const head = Buffer.alloc(5);
    head.writeUInt16BE(0xff60, 0);
    head.writeUInt16BE(chunk.length + 3, 2);
    head[4] = z;
    segments.push(head, chunk);
  }
  return Buffer.concat([main, ...segments, ...tiles, Buffer.from([0xff, 0xd9])]);
}
