#!/usr/bin/env node
// Decodes every JPEG 2000 file of a folder with the native addon (full size, half size, a region,
// through the same decoder serving uses) and writes the pixels out, so that memcheck sees every byte
// handed on: run it under valgrind (scripts/valgrind-jp2.sh makes the fixtures and does).
// Needs `npm run build` (it imports dist/).
import { open, readdir } from 'node:fs/promises';
import { writeSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { readJp2Header } from '../dist/imaging/jp2/codestream.js';
import { handleReader } from '../dist/storage/file-bytes.js';
import { chooseJp2Decoder } from '../dist/imaging/jp2/decoder.js';
import { nativeAddon } from '../dist/imaging/native.js';

const folder = process.argv[2];
if (!folder) {
  console.error('usage: valgrind-jp2.mjs <folder of .jp2/.j2k files>');
  process.exit(2);
}
const decoder = chooseJp2Decoder(nativeAddon().binding, 'native');
const sink = openSync('/dev/null', 'w');
let failures = 0;
for (const name of (await readdir(folder)).filter((n) => /\.(jp2|j2k|j2c|jpc|jph|jhc)$/.test(n)).sort()) {
  const file = await open(path.join(folder, name));
  try {
    const header = await readJp2Header(handleReader(file, (await file.stat()).size)).catch((error) => error);
    if (header instanceof Error) {
      failures++;
      console.log(`${name}: header error ${header.message}`);
      continue;
    }
    const source = { name: path.join(folder, name), version: '1', readBytes: async () => Buffer.alloc(0), localFile: async () => ({ path: path.join(folder, name), descriptor: file.fd }) };
    const level = (reduce) => ({ width: Math.ceil(header.x1 / 2 ** reduce) - Math.ceil(header.x0 / 2 ** reduce), height: Math.ceil(header.y1 / 2 ** reduce) - Math.ceil(header.y0 / 2 ** reduce) });
    const requests = [
      [0, { left: 0, top: 0, right: level(0).width, bottom: level(0).height }],
      [1, { left: 0, top: 0, right: level(1).width, bottom: level(1).height }],
      // A region at an odd place, inside even the smallest images.
      [0, { left: Math.min(37, level(0).width - 1), top: Math.min(29, level(0).height - 1), right: Math.min(level(0).width, 238), bottom: Math.min(level(0).height, 172) }],
    ];
    for (const [reduce, rect] of requests.filter(([reduce]) => reduce < header.resolutions)) {
      try {
        const pixels = await decoder.decode(source, header, reduce, rect);
        writeSync(sink, pixels.data); // memcheck flags any uninitialised byte written
        console.log(`${name} reduce ${reduce} ${JSON.stringify(rect)}: ${pixels.width}×${pixels.height}×${pixels.channels}`);
      } catch (error) {
        failures++;
        console.log(`${name} reduce ${reduce}: error ${error.message}`);
      }
    }
  } finally {
    await file.close();
  }
}
closeSync(sink);
process.exitCode = failures > 0 ? 1 : 0;
