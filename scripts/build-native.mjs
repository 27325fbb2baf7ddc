#!/usr/bin/env node
// Builds the optional native addon (native/) during `npm ci`. It needs libjpeg-turbo's headers
// (Debian/Ubuntu: libturbojpeg0-dev; macOS: brew install jpeg-turbo). Without them Vitrine still
// works, on slower libvips paths, so a missing library or a failed build never fails the install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const say = (message) => console.error(`vitrine: ${message}`);

if (process.env.VITRINE_NATIVE === 'off') {
  say('native addon not built (VITRINE_NATIVE=off)');
  process.exit(0);
}
const headers = ['/usr/include/turbojpeg.h', '/usr/local/include/turbojpeg.h', '/opt/homebrew/include/turbojpeg.h'];
if (!headers.some((h) => existsSync(h))) {
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
say('native addon built (libjpeg-turbo lossless tile crops)');
