#!/usr/bin/env node
// Builds the optional native addon (native/) during `npm ci`. It needs libjpeg-turbo's headers:
// TurboJPEG's (Debian/Ubuntu: libturbojpeg0-dev) for lossless edge-tile crops, and libjpeg's
// (libjpeg62-turbo-dev) for decoding regions from stored tiles; macOS: brew install jpeg-turbo has
// both. With OpenJPEG's (libopenjp2-7-dev; brew install openjpeg) it also decodes and encodes JPEG
// 2000. Without them Vitrine still works, on slower paths (libvips, OpenJPEG in WebAssembly), so a
// missing library or a failed build never fails the install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const say = (message) => console.error(`vitrine: ${message}`);

if (process.env.VITRINE_NATIVE === 'off') {
  say('native addon not built (VITRINE_NATIVE=off)');
  process.exit(0);
}
const includes = ['/usr/include', '/usr/local/include', '/opt/homebrew/include'];
const has = (header) => includes.some((dir) => existsSync(path.join(dir, header)));
if (!has('turbojpeg.h')) {
  say('libturbojpeg not found: edge tiles will be re-encoded with libvips (slower).');
  say('  for full speed: sudo apt-get install libturbojpeg0-dev (or brew install jpeg-turbo), then npm rebuild');
  process.exit(0);
}
// npm puts its bundled node-gyp on PATH for lifecycle scripts; npm_config_node_gyp names it too.
const gyp = process.env.npm_config_node_gyp;
const [command, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const result = spawnSync(command, args, { cwd: path.join(root, 'native'), stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (result.status !== 0) {
  say(`native addon build failed; continuing without it.\n${(result.stderr ?? String(result.error)).split('\n').slice(-15).join('\n')}`);
  process.exit(0);
}
if (has('jpeglib.h')) {
  say('native addon built (libjpeg-turbo: lossless tile crops, region decoding from stored tiles)');
} else {
  say('native addon built (libjpeg-turbo lossless tile crops); without jpeglib.h, regions are decoded by libvips (slower).');
  say('  for full speed: sudo apt-get install libjpeg62-turbo-dev (Ubuntu: libjpeg-turbo8-dev), then npm rebuild');
}
if (has('openjpeg-2.5/openjpeg.h')) {
  say('  with OpenJPEG: JPEG 2000 decoded by area in process, and encoded (vitrine convert --format jp2)');
  if (!has('lcms2.h')) {
    say('  without Little CMS: JPEG 2000 files with an ICC profile or in CIELab are refused.');
    say('  for them: sudo apt-get install liblcms2-dev (macOS: brew install little-cms2), then npm rebuild');
  }
} else {
  say('  without OpenJPEG: JPEG 2000 is served by a slow WebAssembly decoder, and --format jp2 is unavailable.');
  say('  for JPEG 2000: sudo apt-get install libopenjp2-7-dev (macOS: brew install openjpeg), then npm rebuild');
}
