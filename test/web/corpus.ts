import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { vitrine } from '../helpers/cli.js';
import { REFERENCE_PNG } from '../helpers/server.js';
import { BATCH_CSV, writeMasters } from '../presentation/corpus.js';

/** The object with a large page: deep enough a pyramid (scale factors 1 to 16) to zoom into. */
export const MAP_ID = 'Maps/Sheet-1';
export const MAP_PAGE = 'Maps/Sheet-1/sheet-001';
export const MAP_SIZE = { width: 3600, height: 2700 } as const;

/**
 * The archive of the manifest tests (a fonds with boxes and folders, objects described by sidecars
 * and a CSV) plus a map sheet large enough for deep zoom, converted with the real CLI into `out`.
 */
export async function convertCorpus(dir: string): Promise<{ out: string; masters: string }> {
  const masters = path.join(dir, 'masters');
  const out = path.join(dir, 'out');
  await writeMasters(masters);
  await mkdir(path.join(masters, 'Maps', 'Sheet 1'), { recursive: true });
  await sharp(REFERENCE_PNG)
    .removeAlpha()
    .resize(MAP_SIZE.width, MAP_SIZE.height, { fit: 'fill', kernel: 'nearest' })
    .tiff({ compression: 'lzw' })
    .toFile(path.join(masters, 'Maps', 'Sheet 1', 'sheet-001.tif'));
  const csv = path.join(dir, 'batch.csv');
  await writeFile(csv, BATCH_CSV);
  const result = await vitrine('convert', masters, '--out', out, '--metadata', csv, '--workers', '2');
  if (result.code !== 0) throw new Error(`vitrine convert failed (${result.code}): ${result.stderr}`);
  return { out, masters };
}
