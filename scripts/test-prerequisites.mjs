#!/usr/bin/env node
// `npm test`'s first step (pretest): the tests need system packages that a user's `npm ci` does not
// install (OpenJPEG's and OpenJPH's tools, chromium, openssl, tesseract with its English data, and the headers the native addon is
// built with). Missing ones are installed when that is possible without asking (root, or
// passwordless sudo); otherwise the run stops at once with one line naming them. Headers installed
// after `npm ci` built the addon would leave it without their features, so it is then rebuilt.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { missingFromBuild } from './native-features.mjs';

const here = import.meta.dirname;
const say = (message) => console.error(`vitrine: ${message}`);
const depsScript = path.join(here, 'install-system-deps.sh');
// The tests need the test tools whatever VITRINE_NO_TEST_TOOLS says about installs.
const env = { ...process.env, VITRINE_NO_TEST_TOOLS: '' };

const listed = spawnSync(depsScript, ['--missing'], { env, encoding: 'utf8' });
if (listed.status === 3) {
  say('not a Debian system: the tests need libjpeg-turbo and OpenJPEG (headers, opj_compress), OpenJPH (ojph_compress), chromium, openssl, tesseract (with English data) and poppler-utils; install them yourself');
} else if (listed.status !== 0) {
  say(`cannot check the system packages: ${listed.stderr || listed.error}`);
  process.exit(1);
}
const missing = listed.status === 0 ? listed.stdout.trim().split(/\s+/).filter(Boolean) : [];
if (missing.length > 0) {
  const root = process.getuid?.() === 0;
  if (!root && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status !== 0) {
    say(`the tests need system packages: sudo apt-get install ${missing.join(' ')} (or run npm test as root), then npm test`);
    process.exit(1);
  }
  say(`installing what the tests need: ${missing.join(' ')}`);
  const installed = spawnSync(depsScript, [], { env, stdio: 'inherit' });
  if (installed.status !== 0) {
    say(`installing ${missing.join(' ')} failed (exit ${installed.status})`);
    process.exit(1);
  }
}

// npm ci built the addon before the headers above were there: rebuild it with them.
const unused = missingFromBuild();
if (unused.length > 0) {
  say(`rebuilding the native addon with ${unused.join(', ')}`);
  // node-gyp needs npm's settings (its bundled node-gyp, nodedir): under npm test they are in the
  // environment; run by hand, npm runs the package's install script with them.
  if (process.env.npm_config_node_gyp) spawnSync(process.execPath, [path.join(here, 'build-native.mjs')], { env, stdio: 'inherit' });
  else spawnSync('npm', ['run', '--silent', 'install'], { cwd: path.join(here, '..'), env, stdio: 'inherit' });
  const still = missingFromBuild();
  if (still.length > 0) {
    say(`the native addon could not be built with ${still.join(', ')} (see above); the tests need it`);
    process.exit(1);
  }
}

// The ingest queue's tests run against a real Redis (BullMQ): one that does not answer would fail
// them one by one, minutes in; say it now, in one line. VITRINE_TEST_REDIS names another one.
const redisUrl = new URL(process.env.VITRINE_TEST_REDIS ?? 'redis://127.0.0.1:6379');
const { createConnection } = await import('node:net');
const pong = await new Promise((resolve) => {
  const socket = createConnection({ host: redisUrl.hostname.replace(/^\[|\]$/g, ''), port: Number(redisUrl.port || 6379) });
  const done = (answer) => {
    socket.destroy();
    resolve(answer);
  };
  socket.setTimeout(3000, () => done('no answer within 3 s'));
  socket.once('error', (error) => done(error.code ?? error.message));
  socket.once('connect', () => socket.write('PING\r\n'));
  // +PONG, or -NOAUTH from a server that wants a password (it is there: the tests' URL carries it).
  socket.once('data', (data) => done(/^(\+PONG|-NOAUTH)/.test(String(data)) ? true : `it answered ${JSON.stringify(String(data).trim())}`));
});
if (pong !== true) {
  say(`the tests need a Redis server at ${redisUrl.host} (${pong}): start one (redis-server --daemonize yes --save '') or set VITRINE_TEST_REDIS=redis://host:port, then npm test`);
  process.exit(1);
}
