/**
 * A baseline JPEG stream written again with a restart marker every `interval` MCUs (a DRI segment
 * added), which some encoders write and sharp cannot. Blocks are Huffman-decoded only to predict
 * their DC differences again after each marker; every other code is written as it was. Plain and
 * bit by bit: an independent check of the addon's crop, not a fast path.
 */
export function withRestartMarkers(jpeg: Buffer, interval: number): Buffer {
  const dc = new Map<number, Huffman>();
  const ac = new Map<number, Huffman>();
  let frame: { width: number; height: number; components: { id: number; h: number; v: number }[] } | undefined;
  let at = 2;
  for (;;) {
    const marker = jpeg[at + 1]!;
    const length = jpeg.readUInt16BE(at + 2);
    const body = jpeg.subarray(at + 4, at + 2 + length);
    if (marker === 0xc4) {
      for (let t = 0; t < body.length; ) {
        const counts = body.subarray(t + 1, t + 17);
        const total = counts.reduce((sum, n) => sum + n, 0);
        (body[t]! >> 4 ? ac : dc).set(body[t]! & 15, huffman(counts, body.subarray(t + 17, t + 17 + total)));
        t += 17 + total;
      }
    } else if (marker === 0xc0) {
      const components = [];
      for (let i = 0; i < body[5]!; i++) components.push({ id: body[6 + 3 * i]!, h: body[7 + 3 * i]! >> 4, v: body[7 + 3 * i]! & 15 });
      frame = { height: body.readUInt16BE(1), width: body.readUInt16BE(3), components };
    } else if (marker === 0xda) {
      break;
    } else if (marker === 0xc2 || marker === 0xdd) {
      throw new Error('withRestartMarkers: baseline streams without restarts only');
    }
    at += 2 + length;
  }
  if (!frame) throw new Error('withRestartMarkers: no SOF0');
  const sosAt = at;
  const sos = jpeg.subarray(sosAt + 4, sosAt + 2 + jpeg.readUInt16BE(sosAt + 2));
  const scan = [];
  for (let i = 0; i < sos[0]!; i++) {
    const component = frame.components.find((c) => c.id === sos[1 + 2 * i])!;
    scan.push({ ...component, dc: dc.get(sos[2 + 2 * i]! >> 4)!, ac: ac.get(sos[2 + 2 * i]! & 15)! });
  }
  const dataAt = sosAt + 2 + jpeg.readUInt16BE(sosAt + 2);

  // Blocks in MCU order: an interleaved scan has h × v blocks of each component per MCU.
  const single = scan.length === 1;
  const hMax = single ? 1 : Math.max(...scan.map((c) => c.h));
  const vMax = single ? 1 : Math.max(...scan.map((c) => c.v));
  const mcus = Math.ceil(frame.width / (8 * hMax)) * Math.ceil(frame.height / (8 * vMax));
  const blocks = scan.flatMap((c, i) => Array<number>(single ? 1 : c.h * c.v).fill(i));

  const reader = new BitReader(unstuff(jpeg.subarray(dataAt)));
  const writer = new BitWriter();
  const decoded = scan.map(() => 0);
  let written = scan.map(() => 0);
  for (let mcu = 0; mcu < mcus; mcu++) {
    if (mcu > 0 && mcu % interval === 0) {
      writer.marker(0xd0 + (((mcu / interval) - 1) & 7));
      written = scan.map(() => 0);
    }
    for (const i of blocks) {
      const { dc: dcTable, ac: acTable } = scan[i]!;
      const category = reader.symbol(dcTable);
      decoded[i]! += extend(reader.bits(category), category);
      const difference = decoded[i]! - written[i]!;
      written[i] = decoded[i]!;
      const newCategory = difference === 0 ? 0 : 32 - Math.clz32(Math.abs(difference));
      writer.symbol(dcTable, newCategory);
      writer.put((difference < 0 ? difference - 1 : difference) & ((1 << newCategory) - 1), newCategory);
      for (let k = 1; k < 64; ) {
        const symbol = reader.symbol(acTable);
        writer.symbol(acTable, symbol);
        const size = symbol & 15;
        if (size === 0 && symbol !== 0xf0) break;
        writer.put(reader.bits(size), size);
        k += (symbol >> 4) + 1;
      }
    }
  }
  writer.align();
  const dri = Buffer.from([0xff, 0xdd, 0x00, 0x04, interval >> 8, interval & 255]);
  return Buffer.concat([jpeg.subarray(0, sosAt), dri, jpeg.subarray(sosAt, dataAt), Buffer.from(writer.bytes), Buffer.from([0xff, 0xd9])]);
}

interface Huffman {
  /** Symbol by code length << 16 | code. */
  readonly decode: Map<number, number>;
  readonly encode: Map<number, { code: number; length: number }>;
}

function huffman(counts: Buffer, symbols: Buffer): Huffman {
  const decode = new Map<number, number>();
  const encode = new Map<number, { code: number; length: number }>();
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < counts[length - 1]!; i++, code++) {
      const symbol = symbols[k++]!;
      decode.set((length << 16) | code, symbol);
      if (!encode.has(symbol)) encode.set(symbol, { code, length });
    }
    code <<= 1;
  }
  return { decode, encode };
}

function extend(bits: number, category: number): number {
  return category === 0 ? 0 : bits < 1 << (category - 1) ? bits - (1 << category) + 1 : bits;
}

/** The entropy-coded data up to its first marker, without stuffed zeros. */
function unstuff(data: Buffer): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== 0xff) bytes.push(data[i]!);
    else if (data[i + 1] === 0x00) bytes.push(0xff), i++;
    else break;
  }
  return bytes;
}

class BitReader {
  private at = 0;
  constructor(private readonly bytes: number[]) {}

  bits(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++, this.at++) {
      if (this.at >> 3 >= this.bytes.length) throw new Error('withRestartMarkers: data ends early');
      value = (value << 1) | ((this.bytes[this.at >> 3]! >> (7 - (this.at & 7))) & 1);
    }
    return value;
  }

  symbol(table: Huffman): number {
    let code = 0;
    for (let length = 1; length <= 16; length++) {
      code = (code << 1) | this.bits(1);
      const symbol = table.decode.get((length << 16) | code);
      if (symbol !== undefined) return symbol;
    }
    throw new Error('withRestartMarkers: bad Huffman code');
  }
}

class BitWriter {
  readonly bytes: number[] = [];
  private byte = 0;
  private count = 0;

  put(value: number, count: number): void {
    for (let i = count - 1; i >= 0; i--) {
      this.byte = (this.byte << 1) | ((value >> i) & 1);
      if (++this.count === 8) {
        this.bytes.push(this.byte);
        if (this.byte === 0xff) this.bytes.push(0x00);
        this.byte = 0;
        this.count = 0;
      }
    }
  }

  symbol(table: Huffman, symbol: number): void {
    const code = table.encode.get(symbol);
    if (!code) throw new Error(`withRestartMarkers: the table has no code for ${symbol}`);
    this.put(code.code, code.length);
  }

  /** Pads the last byte with one bits. */
  align(): void {
    while (this.count !== 0) this.put(1, 1);
  }

  marker(marker: number): void {
    this.align();
    this.bytes.push(0xff, marker);
  }
}
