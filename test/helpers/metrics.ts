import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { Catalog } from '../../src/catalog/catalog.js';
import { REFERENCE_PNG } from './server.js';

/** One sample of a Prometheus text exposition: `name{labels} value`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * Parses the Prometheus text format 0.0.4 strictly enough to catch a broken exposition: every line
 * is a comment (# HELP / # TYPE), blank, or a sample with a number.
 */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    // As Prometheus reads values (Go's ParseFloat): NaN and Inf in any case (prom-client writes an
    // empty event-loop histogram's mean as `Nan`).
    const text = match[3]!;
    const value = /^\+?inf$/i.test(text) ? Infinity : /^-inf$/i.test(text) ? -Infinity : Number(text);
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(text), `not a number in ${JSON.stringify(line)}`);
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** The value of the sample `name` whose labels include `labels` (0 when there is none yet: counters start absent). */
export function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)}: ${found.length} samples match`);
  return found[0]?.value ?? 0;
}

/** Scrapes `url`/metrics, checking the status and content type. */
export async function scrape(url: string, headers: Record<string, string> = {}): Promise<Sample[]> {
  const response = await fetch(`${url}/metrics`, { headers });
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await response.text());
}

/**
 * A data folder with a pyramidal JPEG-tiled TIFF (2048×1536, tiles 256: aligned tiles pass
 * through) and a catalog of one two-page object `book`, for manifests.
 */
export async function metricsCorpus(dir: string): Promise<{ data: string; tiff: string }> {
  const images = path.join(dir, 'images');
  await mkdir(images, { recursive: true });
  const tiff = path.join(images, 'pyramid.tif');
  await sharp(REFERENCE_PNG)
    .removeAlpha()
    .resize(2048, 1536, { fit: 'fill' })
    .tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 85 })
    .toFile(tiff);
  const catalog = new Catalog(path.join(dir, 'catalog.sqlite'));
  const list: { sourcePath: string; sourcePage: number }[] = [];
  for (const n of [1, 2]) {
    const sourcePath = `/masters/book/${n}.tif`;
    catalog.recordPage({
      objectId: 'book',
      sequence: n,
      identifier: `book/${n}`,
      sourcePath,
      sourcePage: 0,
      sourceSize: 1,
      sourceMtimeMs: 1_700_000_000_000,
      sourceSha256: '0'.repeat(64),
      settings: '{}',
      derivativePath: tiff,
      width: 2048,
      height: 1536,
      convertedAt: new Date(0).toISOString(),
    });
    list.push({ sourcePath, sourcePage: 0 });
  }
  catalog.setObjectPages({ id: 'book', folder: 'book' }, list);
  catalog.close();
  return { data: dir, tiff };
}
