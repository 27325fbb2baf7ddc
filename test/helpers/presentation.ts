import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { FIXTURES } from './server.js';

// ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

let validator: ValidateFunction | undefined;

/** The official IIIF Presentation 3.0 JSON Schema (draft-07, with uri and date-time formats). */
export function presentation3Validator(): ValidateFunction {
  if (!validator) {
    const schema = JSON.parse(readFileSync(path.join(FIXTURES, 'iiif-presentation-3.0.schema.json'), 'utf8')) as object;
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    validator = ajv.compile(schema);
  }
  return validator;
}

/** Asserts a document is valid Presentation 3.0, listing every schema error otherwise. */
export function assertValid3(document: unknown, what: string): void {
  const validate = presentation3Validator();
  if (!validate(document)) {
    const errors = (validate.errors ?? []).slice(0, 15).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    assert.fail(`${what} is not valid Presentation 3.0:\n  ${errors.join('\n  ')}`);
  }
}

/** The media type and its profile parameter of a response (charset aside). */
export function mediaType(headers: Headers): { type: string; profile: string | undefined } {
  const value = headers.get('content-type') ?? '';
  const [type = '', ...params] = value.split(';').map((s) => s.trim());
  const profile = params.find((p) => p.startsWith('profile='))?.slice('profile='.length).replace(/^"|"$/g, '');
  return { type, profile };
}

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** GETs a JSON document and checks the status. */
export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ body: Json; headers: Headers }> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  assert.equal(response.status, 200, `${url} → ${response.status} ${text.slice(0, 300)}`);
  return { body: JSON.parse(text) as Json, headers: response.headers };
}

/**
 * Follows a collection and its sub-collections from `topUrl`, fetching each by its id (so ids must
 * be dereferenceable): every collection document and the manifest ids they list, in order.
 */
export async function crawl(topUrl: string, version: 2 | 3 = 3): Promise<{ collections: Map<string, Json>; manifests: string[] }> {
  const collections = new Map<string, Json>();
  const manifests: string[] = [];
  const headers: Record<string, string> = version === 2 ? { Accept: 'application/ld+json;profile="http://iiif.io/api/presentation/2/context.json"' } : {};
  const queue = [topUrl];
  while (queue.length > 0) {
    const url = queue.shift()!;
    assert.ok(!collections.has(url), `${url} reached twice`);
    const { body } = await getJson(url, headers);
    assert.equal(version === 3 ? body.id : body['@id'], url, 'a collection is served at its id');
    collections.set(url, body);
    if (version === 3) {
      for (const item of body.items as Json[]) (item.type === 'Collection' ? queue : manifests).push(item.id as string);
    } else {
      for (const c of (body.collections ?? []) as Json[]) queue.push(c['@id'] as string);
      for (const m of (body.manifests ?? []) as Json[]) manifests.push(m['@id'] as string);
    }
  }
  return { collections, manifests };
}
