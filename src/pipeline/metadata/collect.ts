import path from 'node:path';
import { parsePolicy, PolicyError, splitPolicyKeys, type PolicyInput } from '../../auth/policy.js';
import type { ObjectMetadata } from '../../catalog/metadata.js';
import type { Anomaly, Plan, PlannedObject } from '../plan.js';
import type { CsvDescription } from './csv.js';
import { MetadataError, parseDescription } from './description.js';
import { resolveObjectMetadata, type SourcedDescription } from './resolve.js';
import { readSidecarFile } from './sidecar-file.js';

/** Sidecar names, most preferred first (when a folder has several, the first is read). */
export const SIDECAR_NAMES = ['manifest.yml', 'manifest.yaml', 'manifest.json'];

export interface DescribedObject {
  readonly metadata: ObjectMetadata;
  /** The files the metadata came from (sidecar paths under the masters, `file.csv row N`). */
  readonly sources: string[];
  /** The access keys of its sidecar (`access:`, `degradedSize:`, `profile:`), if it has any. */
  readonly policy?: SourcedPolicy | undefined;
}

/** Access keys and the file they came from. */
export interface SourcedPolicy {
  readonly input: PolicyInput;
  readonly source: string;
}

export interface Descriptions {
  readonly objects: Map<string, DescribedObject>;
  readonly anomalies: Anomaly[];
}

/**
 * A sidecar's description and its access keys, read apart: a bad access key never costs the
 * description, and a bad description never costs the policy. A policy that cannot be read is
 * `restricted` (closed, never open by mistake) and an anomaly says why.
 */
async function readSidecar(file: string, relative: string, anomalies: Anomaly[], object: string): Promise<{ described?: SourcedDescription; policy?: SourcedPolicy }> {
  const { policy, rest } = splitPolicyKeys(await readSidecarFile(file, relative));
  let sourcedPolicy: SourcedPolicy | undefined;
  if (policy) {
    try {
      sourcedPolicy = { input: parsePolicy(policy, relative), source: relative };
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      anomalies.push({ object, kind: 'access', detail: `${error.message}; the object is restricted until it is fixed` });
      sourcedPolicy = { input: { access: 'restricted' }, source: relative };
    }
  }
  let described: SourcedDescription | undefined;
  try {
    described = { source: relative, description: parseDescription(rest, relative) };
  } catch (error) {
    if (!(error instanceof MetadataError)) throw error;
    anomalies.push({ object, kind: 'metadata', detail: `${error.message}; sidecar not applied` });
  }
  return { ...(described ? { described } : {}), ...(sourcedPolicy ? { policy: sourcedPolicy } : {}) };
}

/** The object a CSV row names: by id, then by folder, then either ignoring case. */
function rowMatcher(objects: readonly PlannedObject[]): (name: string) => PlannedObject | undefined {
  const byId = new Map(objects.map((o) => [o.id, o]));
  const byFolder = new Map(objects.filter((o) => o.folder !== '.').map((o) => [o.folder, o]));
  const lower = new Map<string, PlannedObject>();
  for (const o of objects) {
    if (o.folder !== '.' && !lower.has(o.folder.toLowerCase())) lower.set(o.folder.toLowerCase(), o);
    if (!lower.has(o.id.toLowerCase())) lower.set(o.id.toLowerCase(), o);
  }
  return (name) => {
    const n = name.replace(/\\/g, '/').replace(/^\.?\/+|\/+$/g, '');
    return byId.get(n) ?? byFolder.get(n) ?? lower.get(n.toLowerCase());
  };
}

/**
 * The descriptive metadata of every planned object: its row of the batch CSV (if given), then the
 * `manifest.yml` / `manifest.json` beside its masters, each field from the most specific. Problems
 * (a bad field, a page that does not exist, a row for no object) become anomalies of the report;
 * an unreadable CSV is a MetadataError.
 */
export async function describeObjects(masters: string, plan: Plan, csvFile?: string): Promise<Descriptions> {
  const anomalies: Anomaly[] = [];
  const found = new Map<string, SourcedDescription[]>();
  const policies = new Map<string, SourcedPolicy>();
  const add = (object: PlannedObject, description: SourcedDescription): void => {
    found.set(object.id, [...(found.get(object.id) ?? []), description]);
  };

  // The CSV parser is loaded only for a batch that has a CSV.
  const csvRows: CsvDescription[] = csvFile ? await (await import('./csv.js')).readMetadataCsv(csvFile) : [];
  const defaults: SourcedDescription[] = [];
  const match = rowMatcher(plan.objects);
  const rowFor = new Map<string, string>();
  for (const row of csvRows) {
    let description;
    try {
      description = parseDescription(row.description, row.source);
    } catch (error) {
      if (!(error instanceof MetadataError)) throw error;
      anomalies.push({ object: row.object || '(none)', kind: 'metadata', detail: `${error.message}; row not applied` });
      continue;
    }
    if (row.object === '*') {
      defaults.push({ source: row.source, description });
      continue;
    }
    const object = match(row.object);
    if (!object) {
      anomalies.push({ object: row.object || '(none)', kind: 'metadata', detail: `${row.source}: names no object of this batch` });
      continue;
    }
    const earlier = rowFor.get(object.id);
    if (earlier) anomalies.push({ object: object.id, kind: 'metadata', detail: `${row.source} describes the object of ${earlier} again; both apply, the later row wins` });
    rowFor.set(object.id, row.source);
    add(object, { source: row.source, description });
  }

  // Sidecars: the scan lists them among the ignored files.
  const sidecars = new Map<string, string[]>();
  for (const file of plan.ignored) {
    if (file.reason !== 'metadata sidecar') continue;
    const folder = path.posix.dirname(file.relativePath);
    sidecars.set(folder, [...(sidecars.get(folder) ?? []), file.relativePath]);
  }
  const objectsIn = new Map<string, PlannedObject[]>();
  for (const object of plan.objects) objectsIn.set(object.folder, [...(objectsIn.get(object.folder) ?? []), object]);
  for (const [folder, files] of sidecars) {
    const rank = (f: string): number => SIDECAR_NAMES.indexOf(path.posix.basename(f).toLowerCase());
    const [chosen, ...others] = [...files].sort((a, b) => rank(a) - rank(b));
    const objects = objectsIn.get(folder) ?? [];
    if (objects.length !== 1) {
      anomalies.push({
        object: folder,
        kind: 'metadata',
        detail:
          objects.length === 0
            ? `${chosen}: describes no object (no masters beside it)`
            : `${chosen}: its folder holds ${objects.length} objects (${objects.map((o) => o.id).join(', ')}); describe them in a CSV (--metadata) instead`,
      });
      continue;
    }
    const object = objects[0]!;
    if (others.length > 0) anomalies.push({ object: object.id, kind: 'metadata', detail: `${others.join(', ')} ignored: ${chosen} is read` });
    try {
      const read = await readSidecar(path.join(masters, ...chosen!.split('/')), chosen!, anomalies, object.id);
      if (read.policy) policies.set(object.id, read.policy);
      if (read.described) add(object, read.described);
    } catch (error) {
      if (!(error instanceof MetadataError) && (error as NodeJS.ErrnoException).code === undefined) throw error;
      anomalies.push({ object: object.id, kind: 'metadata', detail: `${(error as Error).message}; sidecar not applied` });
    }
  }

  const objects = new Map<string, DescribedObject>();
  for (const object of plan.objects) {
    const descriptions = [...defaults, ...(found.get(object.id) ?? [])];
    const { metadata, problems } = resolveObjectMetadata(object, descriptions);
    for (const detail of problems) anomalies.push({ object: object.id, kind: 'metadata', detail });
    objects.set(object.id, { metadata, sources: descriptions.map((d) => d.source), policy: policies.get(object.id) });
  }
  return { objects, anomalies };
}
