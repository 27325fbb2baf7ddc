import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { upgrade } from '@iiif/parser/upgrader';
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

const P2_CONTEXT = 'http://iiif.io/api/presentation/2/context.json';
const IMAGE_2_CONTEXT = 'http://iiif.io/api/image/2/context.json';
const VIEWING_HINTS = new Set(['individuals', 'paged', 'continuous', 'multi-part', 'non-paged', 'top', 'facing-pages']);
const VIEWING_DIRECTIONS = new Set(['left-to-right', 'right-to-left', 'top-to-bottom', 'bottom-to-top']);

/** A 2.1 property value: a string, a language-tagged value, or a list of them. */
function isValue2(value: unknown): boolean {
  const one = (v: unknown): boolean =>
    typeof v === 'string' || (typeof v === 'object' && v !== null && typeof (v as Json)['@value'] === 'string' && Object.keys(v).every((k) => k === '@value' || k === '@language'));
  return Array.isArray(value) ? value.length > 0 && value.every(one) : one(value);
}

/**
 * The rules of Presentation 2.1 that an upgrade to 3.0 could hide, checked on the 2.1 document
 * itself: types and contexts, required properties, a painting annotation per canvas targeting it,
 * Image API 2 services, ranges that name existing canvases. Returns every problem found.
 */
export function problems2(document: Json): string[] {
  const found: string[] = [];
  const check = (ok: boolean, where: string, what: string): void => {
    if (!ok) found.push(`${where}: ${what}`);
  };
  const isUri = (v: unknown): boolean => typeof v === 'string' && /^https?:\/\/[^\s]+$/.test(v);
  const optionalValue = (resource: Json, where: string): void => {
    for (const key of ['description', 'attribution']) if (resource[key] !== undefined) check(isValue2(resource[key]), where, `${key} is not a 2.1 value`);
    if (resource.metadata !== undefined) {
      check(Array.isArray(resource.metadata) && (resource.metadata as Json[]).every((m) => isValue2(m.label) && isValue2(m.value)), where, 'metadata is not a list of label/value pairs');
    }
    if (resource.license !== undefined) check(isUri(resource.license), where, 'license is not a URI');
    if (resource.viewingHint !== undefined) check(VIEWING_HINTS.has(resource.viewingHint as string), where, `viewingHint '${resource.viewingHint}'`);
    if (resource.viewingDirection !== undefined) check(VIEWING_DIRECTIONS.has(resource.viewingDirection as string), where, `viewingDirection '${resource.viewingDirection}'`);
    if (resource.navDate !== undefined) check(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(resource.navDate as string), where, 'navDate is not xsd:dateTime in UTC');
    if (resource.within !== undefined) check(isUri(resource.within), where, 'within is not a URI');
  };
  const where0 = String(document['@id']);
  check(document['@context'] === P2_CONTEXT, where0, `@context is ${JSON.stringify(document['@context'])}`);
  check(isUri(document['@id']), where0, '@id is not an http(s) URI');
  check(isValue2(document.label), where0, 'label is missing or not a 2.1 value');
  optionalValue(document, where0);

  if (document['@type'] === 'sc:Collection') {
    const members = [...((document.collections ?? []) as Json[]).map((m) => ['sc:Collection', m] as const), ...((document.manifests ?? []) as Json[]).map((m) => ['sc:Manifest', m] as const)];
    for (const [type, member] of members) {
      const where = `${where0} member ${String(member['@id'])}`;
      check(member['@type'] === type, where, `@type ${JSON.stringify(member['@type'])}, expected ${type}`);
      check(isUri(member['@id']), where, '@id is not an http(s) URI');
      check(isValue2(member.label), where, 'label is missing');
    }
    check(members.length > 0, where0, 'a collection lists no collection and no manifest');
    return found;
  }

  check(document['@type'] === 'sc:Manifest', where0, `@type ${JSON.stringify(document['@type'])}`);
  check(document.viewingHint !== 'top', where0, "viewingHint 'top' is for collections and ranges");
  const sequences = document.sequences as Json[] | undefined;
  check(Array.isArray(sequences) && sequences.length >= 1, where0, 'no sequences');
  const canvasIds = new Set<string>();
  for (const [s, sequence] of (sequences ?? []).entries()) {
    const whereS = `${where0} sequence ${s}`;
    check(sequence['@type'] === 'sc:Sequence', whereS, `@type ${JSON.stringify(sequence['@type'])}`);
    const canvases = sequence.canvases as Json[] | undefined;
    check(Array.isArray(canvases) && canvases.length >= 1, whereS, 'no canvases');
    for (const canvas of canvases ?? []) {
      const where = `canvas ${String(canvas['@id'])}`;
      check(canvas['@type'] === 'sc:Canvas', where, `@type ${JSON.stringify(canvas['@type'])}`);
      check(isUri(canvas['@id']), where, '@id is not an http(s) URI');
      check(!canvasIds.has(canvas['@id'] as string), where, 'the same @id twice');
      canvasIds.add(canvas['@id'] as string);
      check(isValue2(canvas.label), where, 'label is missing (required on canvases)');
      check(Number.isInteger(canvas.width) && (canvas.width as number) > 0 && Number.isInteger(canvas.height) && (canvas.height as number) > 0, where, 'width/height not positive integers');
      const images = canvas.images as Json[] | undefined;
      check(Array.isArray(images) && images.length >= 1, where, 'no images');
      for (const image of images ?? []) {
        check(image['@type'] === 'oa:Annotation', where, `image @type ${JSON.stringify(image['@type'])}`);
        check(image.motivation === 'sc:painting', where, `motivation ${JSON.stringify(image.motivation)}`);
        check(image.on === canvas['@id'], where, `the image is on ${JSON.stringify(image.on)}, not on its canvas`);
        const resource = (image.resource ?? {}) as Json;
        check(isUri(resource['@id']), where, 'image resource @id is not a URI');
        check(resource['@type'] === 'dctypes:Image', where, `resource @type ${JSON.stringify(resource['@type'])}`);
        check(typeof resource.format === 'string' && resource.format.startsWith('image/'), where, 'resource format');
        const service = (resource.service ?? {}) as Json;
        check(service['@context'] === IMAGE_2_CONTEXT, where, `service @context ${JSON.stringify(service['@context'])}`);
        check(isUri(service['@id']), where, 'service @id is not a URI');
        check(typeof service.profile === 'string' && service.profile.startsWith('http://iiif.io/api/image/2/level'), where, `service profile ${JSON.stringify(service.profile)}`);
      }
      if (canvas.thumbnail !== undefined) check(isUri((canvas.thumbnail as Json)['@id'] ?? canvas.thumbnail), where, 'thumbnail');
    }
  }
  const rangeIds = new Set(((document.structures ?? []) as Json[]).map((r) => r['@id'] as string));
  for (const range of (document.structures ?? []) as Json[]) {
    const where = `range ${String(range['@id'])}`;
    check(range['@type'] === 'sc:Range', where, `@type ${JSON.stringify(range['@type'])}`);
    check(isUri(range['@id']), where, '@id is not an http(s) URI');
    check(isValue2(range.label), where, 'label is missing');
    for (const c of (range.canvases ?? []) as string[]) check(canvasIds.has(c), where, `names canvas ${c}, which is not in the manifest`);
    for (const r of (range.ranges ?? []) as string[]) check(rangeIds.has(r), where, `names range ${r}, which is not in structures`);
  }
  return found;
}

/**
 * Asserts a Presentation 2.1 manifest or collection is valid: its 2.1 rules (problems2), then
 * upgraded to 3.0 by an independent implementation (@iiif/parser, IIIF Commons) and
 * checked against the official 3.0 JSON Schema, with nothing lost on the way (every canvas, every
 * member, every range).
 */
export function assertValid2(document: Json, what: string): void {
  const found = problems2(document);
  if (found.length > 0) assert.fail(`${what} is not valid Presentation 2.1:\n  ${found.slice(0, 15).join('\n  ')}`);
  const copy = structuredClone(document);
  // 2.1's viewingHint 'top' (the top collection) has no 3.0 behavior: the upgrader would carry it
  // over as an invalid one. Its 2.1 use is checked by problems2.
  if (copy.viewingHint === 'top') delete copy.viewingHint;
  for (const range of (copy.structures ?? []) as Json[]) if (range.viewingHint === 'top') delete range.viewingHint;
  const upgraded = upgrade(copy as Parameters<typeof upgrade>[0]) as Json;
  assertValid3(upgraded, `${what} upgraded to 3.0`);
  if (document['@type'] === 'sc:Collection') {
    const members = [...((document.collections ?? []) as Json[]), ...((document.manifests ?? []) as Json[])].map((m) => m['@id'] as string);
    assert.deepEqual((upgraded.items as Json[]).map((i) => i.id as string).sort(), members.sort(), `${what}: members kept by the upgrade`);
  } else {
    const canvases = (document.sequences as Json[]).flatMap((s) => (s.canvases as Json[]).map((c) => [c['@id'], c.width, c.height]));
    assert.deepEqual((upgraded.items as Json[]).map((c) => [c.id, c.width, c.height]), canvases, `${what}: canvases kept by the upgrade`);
    assert.equal(((upgraded.structures ?? []) as Json[]).length > 0, ((document.structures ?? []) as Json[]).length > 0, `${what}: ranges kept by the upgrade`);
  }
}
