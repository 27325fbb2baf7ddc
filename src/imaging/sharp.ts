import { createRequire } from 'node:module';
import type SharpModule from 'sharp';

/**
 * sharp, from its CommonJS build. Its ES module build loads the same code, but pulls its CommonJS
 * dependencies (semver, detect-libc, @img/colour) through Node's ES module loader, which scans each
 * file for its exports: 120-165 ms of CPU at every start against 55-65 ms with require (measured with
 * process.cpuUsage), a cost every `vitrine convert` pays before its first page. Every module of
 * Vitrine takes sharp from here, so that it is loaded once.
 */
const sharp: typeof SharpModule = createRequire(import.meta.url)('sharp');
export default sharp;
