#!/usr/bin/env node
// npm's prepare step: builds dist/ after `npm ci`. `npx vitrine` in a clone installs the clone into
// npx's cache (as a link back here; npm 11 does so whenever the current package has the asked bin,
// before looking in node_modules/.bin) and runs its install and prepare scripts again: a rebuild of
// 20 s to minutes before the first start. Built once is enough there.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
if (process.env.npm_command === 'exec' && existsSync(path.join(root, 'dist/cli/index.js'))) process.exit(0);
const npm = process.env.npm_execpath;
const [command, args] = npm ? [process.execPath, [npm, 'run', 'build']] : ['npm', ['run', 'build']];
const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
