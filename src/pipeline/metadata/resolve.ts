import path from 'node:path';
import type { LanguageMap, ObjectMetadata, RangeSpec } from '../../catalog/metadata.js';
import type { PlannedObject, PlannedPage } from '../plan.js';
import {
  agents,
  labelValues,
  languageMap,
  linkedResources,
  MetadataError,
  navDate,
  requiredStatement,
  rightsUri,
  type CollectionField,
  type DescriptionInput,
  type RangeInput,
} from './description.js';

/** One description of an object and where it was read (a sidecar path, or `file.csv row 4`). */
export interface SourcedDescription {
  readonly source: string;
  readonly description: DescriptionInput;
}

export interface ResolvedMetadata {
  readonly metadata: ObjectMetadata;
  /** Problems that left a field out (each names its source and field). */
  readonly problems: string[];
}

const stripExtension = (name: string): string => name.replace(/\.[^./]+$/, '');

/** Finds pages by number, span or file name, in one object's planned reading order. */
export class PageIndex {
  constructor(private readonly pages: readonly PlannedPage[]) {}

  resolve(ref: number | string): string[] {
    if (typeof ref === 'number') return [this.byNumber(ref)];
    const s = ref.trim();
    if (/^\d+$/.test(s)) return [this.byNumber(Number(s))];
    const span = /^(\d+)\s*[-–]\s*(\d+)$/.exec(s);
    if (span) {
      const [from, to] = [Number(span[1]), Number(span[2])];
      if (from > to) throw new MetadataError(`page span '${s}' runs backwards`);
      return Array.from({ length: to - from + 1 }, (_, i) => this.byNumber(from + i));
    }
    const lower = s.toLowerCase();
    const matches = this.pages.filter((p) => {
      const file = p.source.relativePath.toLowerCase();
      const name = path.posix.basename(file);
      return name === lower || stripExtension(name) === lower || file === lower || path.posix.basename(p.identifier).toLowerCase() === lower;
    });
    if (matches.length === 0) throw new MetadataError(`no page '${s}' (give a page number, a span such as 3-7, or a master's file name)`);
    return matches.map((p) => p.identifier);
  }

  private byNumber(n: number): string {
    const page = this.pages[n - 1];
    if (!page || n < 1) throw new MetadataError(`no page ${n} (the object has ${this.pages.length})`);
    return page.identifier;
  }
}

const prefixed = (source: string, field: string, error: unknown): string =>
  `${source}: ${error instanceof MetadataError && /^[a-zA-Z]+(\.\d+)?: /.test(error.message) ? error.message : `${field}: ${(error as Error).message}`}`;

/** Records a field's value, or the problem that leaves it out. */
export type FieldSetter = (name: string, make: () => unknown) => void;

export function fieldSetter(source: string, out: Record<string, unknown>, problems: string[]): FieldSetter {
  return (name, make) => {
    try {
      const value = make();
      if (value !== undefined) out[name] = value;
    } catch (error) {
      if (!(error instanceof MetadataError)) throw error;
      problems.push(prefixed(source, name, error));
    }
  };
}

/** The fields objects and collections share: label, summary, metadata, rights, links, navDate. */
export function resolveDescriptive(d: Pick<DescriptionInput, CollectionField>, lang: string, field: FieldSetter): void {
  if (d.label !== undefined) field('label', () => languageMap(d.label!, lang));
  if (d.summary !== undefined) field('summary', () => languageMap(d.summary!, lang));
  if (d.metadata !== undefined) field('metadata', () => labelValues(d.metadata!, lang));
  if (d.rights !== undefined) field('rights', () => rightsUri(d.rights!));
  if (d.requiredStatement !== undefined) field('requiredStatement', () => requiredStatement(d.requiredStatement!, lang));
  if (d.provider !== undefined) field('provider', () => agents(d.provider!, lang));
  if (d.homepage !== undefined) field('homepage', () => linkedResources(d.homepage!, lang, 'Text'));
  if (d.seeAlso !== undefined) field('seeAlso', () => linkedResources(d.seeAlso!, lang, 'Dataset'));
  if (d.navDate !== undefined) field('navDate', () => navDate(d.navDate!));
}

/**
 * One description as metadata of one object: language maps, page references resolved to page
 * identifiers. A field that cannot be resolved is left out and reported; the rest applies.
 */
function resolveOne(object: PlannedObject, { source, description: d }: SourcedDescription, problems: string[]): ObjectMetadata {
  const lang = d.language ?? 'none';
  const pages = new PageIndex(object.pages);
  const out: Record<string, unknown> = {};
  const field = fieldSetter(source, out, problems);
  resolveDescriptive(d, lang, field);
  if (d.behavior !== undefined) field('behavior', () => (Array.isArray(d.behavior) ? [...d.behavior] : [d.behavior]));
  if (d.viewingDirection !== undefined) out.viewingDirection = d.viewingDirection;
  if (d.pages !== undefined) {
    field('pageLabels', () => {
      const labels: Record<string, LanguageMap> = {};
      const entries: [number | string, Parameters<typeof languageMap>[0]][] = Array.isArray(d.pages)
        ? d.pages.map((label, i) => [i + 1, label])
        : Object.entries(d.pages!);
      for (const [ref, label] of entries) {
        try {
          for (const id of pages.resolve(ref)) labels[id] = languageMap(label, lang);
        } catch (error) {
          if (!(error instanceof MetadataError)) throw error;
          problems.push(`${source}: pages: ${error.message}`);
        }
      }
      return labels;
    });
  }
  if (d.structure !== undefined) {
    const toRange = (r: RangeInput, where: string): RangeSpec => {
      const refs = r.pages === undefined ? [] : Array.isArray(r.pages) ? r.pages : [r.pages];
      const ids: string[] = [];
      for (const ref of refs) {
        try {
          ids.push(...pages.resolve(ref));
        } catch (error) {
          if (!(error instanceof MetadataError)) throw error;
          problems.push(`${source}: ${where}.pages: ${error.message}`);
        }
      }
      return { label: languageMap(r.label, lang), pages: ids, ranges: (r.items ?? []).map((item, i) => toRange(item, `${where}.items.${i}`)) };
    };
    out.structure = d.structure.map((r, i) => toRange(r, `structure.${i}`));
  }
  return out as ObjectMetadata;
}

/**
 * The metadata of one object from its descriptions, least specific first (the batch CSV, then the
 * object's sidecar): each field comes from the last description that gives it.
 */
export function resolveObjectMetadata(object: PlannedObject, descriptions: readonly SourcedDescription[]): ResolvedMetadata {
  const problems: string[] = [];
  let metadata: ObjectMetadata = {};
  for (const description of descriptions) metadata = { ...metadata, ...resolveOne(object, description, problems) };
  return { metadata, problems };
}
