import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { decode, type Pixels } from './pixels.js';

// JPEG 2000 files Vitrine writes are checked with OpenJPEG's own tools (libopenjp2-tools), not with
// Vitrine's decoder.
export const run = promisify(execFile);

/** Decodes a JP2 with opj_decompress (to PNG) and returns its pixels as written (grey stays grey). */
export async function opjDecode(file: string): Promise<Pixels> {
  const png = `${file}.decoded.png`;
  await run('opj_decompress', ['-i', file, '-o', png, '-quiet']);
  try {
    const bytes = await readFile(png);
    return await decode(sharp(bytes), (await sharp(bytes).metadata()).channels === 1 ? 1 : 3);
  } finally {
    await rm(png, { force: true });
  }
}

export interface Codestream {
  tile: [number, number];
  resolutions: number;
  progression: string;
  reversible: boolean;
  layers: number;
  mct: number;
  precincts: string;
}

/** The coding parameters opj_dump prints (the first component's). */
export async function opjDump(file: string): Promise<Codestream> {
  const { stdout } = await run('opj_dump', ['-i', file]);
  const field = (re: RegExp): string => {
    const m = re.exec(stdout);
    assert.ok(m, `opj_dump output has ${re}`);
    return m[1]!;
  };
  return {
    tile: [Number(field(/tdx=(\d+)/)), Number(field(/tdy=(\d+)/))],
    resolutions: Number(field(/numresolutions=(\d+)/)),
    progression: field(/prg=(0x[0-9a-f]+)/),
    reversible: field(/qmfbid=(\d)/) === '1',
    layers: Number(field(/numlayers=(\d+)/)),
    mct: Number(field(/mct=(\d)/)),
    precincts: field(/preccintsize \(w,h\)=([^\n]*)/).trim(),
  };
}

/** opj_compress's options for Vitrine's codestream layout with `levels` resolution levels (lossless unless -I -q follow). */
export function opjSettings(levels: number): string[] {
  const precincts = Array.from({ length: levels }, (_, i) => (i < 2 ? '[256,256]' : '[128,128]')).join(',');
  return ['-t', '1024,1024', '-n', String(levels), '-p', 'RPCL', '-c', precincts, '-b', '64,64', '-PLT', '-TLM', '-TP', 'R'];
}
