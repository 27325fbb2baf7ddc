#!/usr/bin/env node
// Builds the optional native addon (native/) during `npm ci`. It needs libjpeg-turbo's headers:
// TurboJPEG's (Debian/Ubuntu: libturbojpeg0-dev) for lossless edge-tile crops, and libjpeg's
// (libjpeg62-turbo-dev) for decoding regions from stored tiles; macOS: brew install jpeg-turbo has
// both. With OpenJPEG's (libopenjp2-7-dev; brew install openjpeg) it also decodes and encodes JPEG
// 2000. With libtiff's (libtiff-dev) it decodes old-style JPEG TIFFs, which sharp's libtiff cannot;
// with Little CMS's (liblcms2-dev) it applies JPEG 2000 colour (ICC, CIELab). Without them Vitrine still works, on slower paths (libvips, OpenJPEG in WebAssembly), so a
// missing library or a failed build never fails the install.
// What it was built with is recorded in native/build/features.json, so that the tests can tell a
// function the addon should have from one it cannot have, and `npm test` can rebuild it when
// headers were installed after `npm ci`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { builtFeatures, FEATURES_FILE, headerFeatures } from './native-features.mjs';

const root = path.resolve(import.meta.dirname, '..');
const ADDON = path.join(root, 'native/build/Release/vitrine_native.node');
const say = (message) => console.error(`vitrine: ${message}`);
const features = headerFeatures();
/** Writes the build record: which features the addon was (or would have been) built with, and whether it was. */
const record = (built, reason) => {
  mkdirSync(path.dirname(FEATURES_FILE), { recursive: true });
  writeFileSync(FEATURES_FILE, `${JSON.stringify({ built, features, reason }, null, 2)}\n`);
};

// `npx vitrine` in a clone runs this again when it links the clone into npx's cache (see
// prepare.mjs): an addon already built stays.
if (process.env.npm_command === 'exec' && builtFeatures()?.built && existsSync(ADDON)) process.exit(0);
if (process.env.VITRINE_NATIVE === 'off') {
  say('native addon not built (VITRINE_NATIVE=off)');
  record(false, 'VITRINE_NATIVE=off');
  process.exit(0);
}
const has = (feature) => Boolean(features[feature]);
if (!has('turbojpeg')) {
  say('libturbojpeg not found: edge tiles will be re-encoded with libvips (slower).');
  say('  for full speed: sudo apt-get install libturbojpeg0-dev (or brew install jpeg-turbo), then npm rebuild');
  record(false, 'no turbojpeg.h');
  process.exit(0);
}
// npm puts its bundled node-gyp on PATH for lifecycle scripts; npm_config_node_gyp names it too.
const gyp = process.env.npm_config_node_gyp;
// The features found here are handed to binding.gyp, so that the build and its record agree.
const defines = ['--', `-Djpeglib=${features.jpeglib ? 1 : 0}`, `-Dopenjpeg_include=${features.openjpeg}`, `-Dlibtiff=${features.libtiff ? 1 : 0}`, `-Dlcms2=${features.lcms2 ? 1 : 0}`];
// Every core compiles (node-gyp runs make serially by default): 31 s → ~16 s on 2 cores, a part of every CI run.
const jobs = ['--jobs', 'max'];
const [command, args] = gyp ? [process.execPath, [gyp, 'rebuild', ...jobs, ...defines]] : ['node-gyp', ['rebuild', ...jobs, ...defines]];
const result = spawnSync(command, args, { cwd: path.join(root, 'native'), stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (result.status !== 0) {
  const tail = (result.stderr ?? String(result.error)).split('\n').slice(-15).join('\n');
  say(`native addon build failed; continuing without it.\n${tail}`);
  record(false, `build failed: ${tail.trim().split('\n').at(-1) ?? ''}`);
  process.exit(0);
}
record(true, 'built');
if (has('jpeglib')) {
  say('native addon built (libjpeg-turbo: lossless tile crops, region decoding from stored tiles)');
} else {
  say('native addon built (libjpeg-turbo lossless tile crops); without jpeglib.h, regions are decoded by libvips (slower).');
  say('  for full speed: sudo apt-get install libjpeg62-turbo-dev (Ubuntu: libjpeg-turbo8-dev), then npm rebuild');
}
if (has('openjpeg')) {
  say('  with OpenJPEG: JPEG 2000 decoded by area in process, and encoded (vitrine convert --format jp2)');
  if (has('lcms2')) {
    say('  with Little CMS: JPEG 2000 ICC profiles and CIELab converted to sRGB');
  } else {
    say('  without Little CMS: JPEG 2000 files with an ICC profile or in CIELab are refused.');
    say('  for them: sudo apt-get install liblcms2-dev (macOS: brew install little-cms2), then npm rebuild');
  }
} else {
  say('  without OpenJPEG: JPEG 2000 is served by a slow WebAssembly decoder, and --format jp2 is unavailable.');
  say('  for JPEG 2000: sudo apt-get install libopenjp2-7-dev (macOS: brew install openjpeg), then npm rebuild');
}
if (has('libtiff')) {
  say('  with libtiff: old-style JPEG TIFFs (compression 6) decoded, in serve and convert');
} else {
  say('  without libtiff: old-style JPEG TIFFs (compression 6) are refused (sharp cannot decode them).');
  say('  to read them: sudo apt-get install libtiff-dev (macOS: brew install libtiff), then npm rebuild');
}
