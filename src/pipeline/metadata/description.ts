import type { z } from 'zod';
import { lazySchema } from '../../lazy-zod.js';
import type { Agent, LabelValue, LanguageMap, LinkedResource } from '../../catalog/metadata.js';

/**
 * The description of one object as people write it, in a `manifest.yml` / `manifest.json` sidecar
 * or in a row of a batch CSV (which is turned into the same shape): lenient forms (a plain string
 * where a language map is expected, one URL where a list is), checked strictly (unknown keys are
 * typos). See docs/metadata.md.
 */

export class MetadataError extends Error {
  override name = 'MetadataError';
}

const BCP47 = /^(none|[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*)$/;

type Text = string | number | boolean;
/** A value in one or several languages: 'text', ['text', …] or { en: 'text', fr: ['texte', …] }. */
type LanguageValueInput = Text | Text[] | Record<string, Text | Text[]>;
/** A page: its number in reading order, a span '3-7', or its master's file name (with or without extension). */
type PageRef = number | string;

export interface RangeInput {
  label: LanguageValueInput;
  pages?: PageRef | PageRef[] | undefined;
  items?: RangeInput[] | undefined;
}

export const MANIFEST_BEHAVIORS = ['auto-advance', 'no-auto-advance', 'repeat', 'no-repeat', 'unordered', 'individuals', 'continuous', 'paged'] as const;
export const VIEWING_DIRECTIONS = ['left-to-right', 'right-to-left', 'top-to-bottom', 'bottom-to-top'] as const;

/** The fields a collection.yml takes: the descriptive ones of an object, and the page that pictures it. */
export const COLLECTION_FIELDS = ['language', 'label', 'summary', 'metadata', 'rights', 'requiredStatement', 'provider', 'homepage', 'seeAlso', 'navDate'] as const;

export type CollectionField = Exclude<(typeof COLLECTION_FIELDS)[number], 'language'>;

/** The schemas of an object's description and of a collection's, built on first use. */
const schemas = lazySchema((z) => {
  const bcp47 = z.string().regex(BCP47, 'a language tag such as en, fr, de-CH, or none');
  const text = z.union([z.string(), z.number().transform(String), z.boolean().transform(String)], { error: 'expected a text' });
  const languageValue = z.union([text, z.array(text).min(1), z.record(bcp47, z.union([text, z.array(text)]))], {
    error: "expected a text, a list of texts, or a map of language → text (e.g. { en: 'Letters', fr: 'Lettres' })",
  });
  const httpUrl = z
    .string({ error: 'expected a URL' })
    .regex(/^https?:\/\/[^\s/]+\S*$/, 'expected an http(s) URL');
  const format = z.string().regex(/^[a-z]+\/[a-z0-9.+-]+$/i, 'a media type such as text/html');
  const link = z.union(
    [
      httpUrl,
      z
        .object({
          id: httpUrl,
          label: languageValue.optional(),
          type: z.string().min(1).optional(),
          format: format.optional(),
          profile: z.string().min(1).optional(),
          language: z.union([bcp47, z.array(bcp47)]).optional(),
        })
        .strict(),
    ],
    { error: 'expected a URL or { id: URL, label, format, … }' },
  );
  const links = z.union([link, z.array(link)]);
  const labelValue = z.object({ label: languageValue, value: languageValue }).strict();
  const agent = z
    .object({
      id: httpUrl.optional(),
      label: languageValue,
      homepage: links.optional(),
      logo: links.optional(),
      seeAlso: links.optional(),
    })
    .strict();
  const pageRef = z.union([z.number().int().positive(), z.string().min(1)], { error: 'expected a page number, a span such as 3-7, or a file name' });
  const pageRefs = z.union([pageRef, z.array(pageRef)]);
  const range: z.ZodType<RangeInput> = z.lazy(() =>
    z.object({ label: languageValue, pages: pageRefs.optional(), items: z.array(range).optional() }).strict(),
  );
  const descriptionSchema = z
    .object({
      /** Language of plain texts in this description (default: none). */
      language: bcp47.optional(),
      label: languageValue.optional(),
      summary: languageValue.optional(),
      metadata: z
        .union([z.array(labelValue), z.record(z.string().min(1), languageValue)], {
          error: 'expected a list of { label, value } or a map of label → value',
        })
        .optional(),
      rights: httpUrl.optional(),
      requiredStatement: z.union([labelValue, languageValue]).optional(),
      provider: z.union([agent, z.array(agent)]).optional(),
      homepage: links.optional(),
      seeAlso: links.optional(),
      navDate: z.union([z.string(), z.number().int(), z.date()], { error: 'expected a date such as 1852, 1852-03 or 1852-03-01' }).optional(),
      behavior: z.union([z.enum(MANIFEST_BEHAVIORS), z.array(z.enum(MANIFEST_BEHAVIORS))]).optional(),
      viewingDirection: z.enum(VIEWING_DIRECTIONS).optional(),
      /** Page labels: a list in reading order, or a map of page (number or file name) → label. */
      pages: z.union([z.array(languageValue), z.record(z.string(), languageValue)], { error: 'expected a list of labels or a map of page → label' }).optional(),
      /** The table of contents. */
      structure: z.array(range).optional(),
    })
    .strict();
  const collectionSchema = descriptionSchema
    .pick(Object.fromEntries(COLLECTION_FIELDS.map((f) => [f, true])) as { [K in (typeof COLLECTION_FIELDS)[number]]: true })
    .extend({
      /** An object of the collection (its folder or id, from the collection's folder), or { object, page }. */
      thumbnail: z
        .union([z.string().min(1), z.object({ object: z.string().min(1), page: pageRef.optional() }).strict()], {
          error: 'expected an object of the collection (its folder) or { object, page }',
        })
        .optional(),
    })
    .strict();
  return { descriptionSchema, collectionSchema, link };
});
type Schemas = ReturnType<typeof schemas>;

export type DescriptionInput = z.output<Schemas['descriptionSchema']>;
export type CollectionInput = z.output<Schemas['collectionSchema']>;

/** Validates against `schema`; the error names the field, e.g. `rights: expected an http(s) URL`. */
function validate<T>(schema: z.ZodType<T>, input: unknown, source: string, what: string): T {
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    const problems = result.error.issues.slice(0, 3).map((issue) =>
      issue.code === 'unrecognized_keys'
        ? `${issue.keys.map((k) => [...issue.path, k].join('.')).join(', ')}: ${issue.path.length === 0 ? `not a field of ${what}` : 'unknown key'}`
        : `${issue.path.join('.') || '(top level)'}: ${issue.message}`,
    );
    throw new MetadataError(`${source}: ${problems.join('; ')}`);
  }
  return result.data;
}

/** Validates a parsed sidecar (or CSV row). */
export const parseDescription = (input: unknown, source: string): DescriptionInput => validate(schemas().descriptionSchema, input, source, 'an object description');

/** Validates a parsed collection.yml. */
export const parseCollectionDescription = (input: unknown, source: string): CollectionInput =>
  validate(schemas().collectionSchema, input, source, `a collection (it takes ${[...COLLECTION_FIELDS, 'thumbnail'].join(', ')})`);

/** A language value as a IIIF language map, plain texts tagged with `language`. */
export function languageMap(value: LanguageValueInput, language: string): LanguageMap {
  const list = (v: string | number | boolean | (string | number | boolean)[]): string[] => (Array.isArray(v) ? v : [v]).map(String);
  if (typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([lang, v]) => [lang, list(v)]));
  }
  return { [language]: list(value) };
}

const RIGHTS = /^https?:\/\/(creativecommons\.org\/(licenses|publicdomain)\/|rightsstatements\.org\/vocab\/)/;

/** A rights URI as Presentation 3.0 wants it (Creative Commons or RightsStatements.org, http). */
export function rightsUri(value: string): string {
  if (!RIGHTS.test(value)) {
    throw new MetadataError(
      `rights: '${value}' is not a Creative Commons or RightsStatements.org URI; put other rights statements in requiredStatement`,
    );
  }
  return value.replace(/^https:/, 'http:');
}

/** A date (1852, 1852-03, 1852-03-01, or a full ISO date-time) as an xsd:dateTime in UTC. */
export function navDate(value: string | number | Date): string {
  let date: Date;
  if (value instanceof Date) date = value;
  else {
    const s = String(value).trim();
    const partial = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$/.exec(s);
    date = partial ? new Date(Date.UTC(Number(partial[1]), Number(partial[2] ?? 1) - 1, Number(partial[3] ?? 1))) : new Date(s);
    if (partial) date.setUTCFullYear(Number(partial[1]));
  }
  if (Number.isNaN(date.getTime())) throw new MetadataError(`navDate: '${String(value)}' is not a date (e.g. 1852, 1852-03, 1852-03-01)`);
  return date.toISOString().replace(/\.000Z$/, 'Z');
}

type LinkInput = z.output<Schemas['link']>;

/** Links as linked resources; `type` from the format (text/html → Text), `fallback` otherwise. */
export function linkedResources(value: LinkInput | LinkInput[], language: string, fallback: string): LinkedResource[] {
  return (Array.isArray(value) ? value : [value]).map((item) => {
    if (typeof item === 'string') return { id: item, type: fallback, ...(fallback === 'Text' ? { format: 'text/html' } : {}) };
    const type = item.type ?? (item.format?.startsWith('image/') ? 'Image' : item.format === 'text/html' ? 'Text' : fallback);
    return {
      id: item.id,
      type,
      ...(item.label !== undefined ? { label: languageMap(item.label, language) } : {}),
      ...(item.format !== undefined ? { format: item.format } : type === 'Text' ? { format: 'text/html' } : {}),
      ...(item.profile !== undefined ? { profile: item.profile } : {}),
      ...(item.language !== undefined ? { language: Array.isArray(item.language) ? item.language : [item.language] } : {}),
    };
  });
}

/** Providers as Presentation 3.0 agents; an agent without an id takes its homepage's. */
export function agents(value: NonNullable<DescriptionInput['provider']>, language: string): Agent[] {
  return (Array.isArray(value) ? value : [value]).map((a, i) => {
    const homepage = a.homepage !== undefined ? linkedResources(a.homepage, language, 'Text') : undefined;
    const id = a.id ?? homepage?.[0]?.id;
    if (id === undefined) throw new MetadataError(`provider.${i}: give its id (a URL that identifies the institution) or its homepage`);
    const label = languageMap(a.label, language);
    return {
      id,
      label,
      ...(homepage ? { homepage: homepage.map((h) => ({ ...h, label: h.label ?? label })) } : {}),
      ...(a.logo !== undefined ? { logo: linkedResources(a.logo, language, 'Image').map((l) => ({ ...l, type: 'Image' })) } : {}),
      ...(a.seeAlso !== undefined ? { seeAlso: linkedResources(a.seeAlso, language, 'Dataset') } : {}),
    };
  });
}

/** Metadata entries as label/value pairs, in the order written. */
export function labelValues(value: NonNullable<DescriptionInput['metadata']>, language: string): LabelValue[] {
  if (Array.isArray(value)) return value.map((e) => ({ label: languageMap(e.label, language), value: languageMap(e.value, language) }));
  return Object.entries(value).map(([label, v]) => ({ label: { [language]: [label] }, value: languageMap(v, language) }));
}

/** requiredStatement: a { label, value } pair, or a value alone (labelled Attribution). */
export function requiredStatement(value: NonNullable<DescriptionInput['requiredStatement']>, language: string): LabelValue {
  if (typeof value === 'object' && !Array.isArray(value) && 'value' in value && 'label' in value && Object.keys(value).length === 2) {
    const pair = value as { label: LanguageValueInput; value: LanguageValueInput };
    return { label: languageMap(pair.label, language), value: languageMap(pair.value, language) };
  }
  return { label: { en: ['Attribution'] }, value: languageMap(value as LanguageValueInput, language) };
}
