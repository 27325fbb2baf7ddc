import { describeObjects, type DescribedObject } from './metadata/collect.js';
import { pageDirectories } from './pages.js';
import { planConversion, planFolders, type Anomaly, type PlannedFolder, type PlannedObject, type PlanOptions } from './plan.js';
import type { NameRule } from './rules.js';
import { scanFolder, scanFolders, scanMasters, type IgnoredFile, type ScannedFolder } from './scan.js';
import type { MasterStore } from './stores.js';
import type { SkippedVariant } from './variants.js';

/** A piece of a batch's plan: an object to convert (with its description), and what the report says. */
export interface PlanStep {
  readonly object?: PlannedObject | undefined;
  readonly described?: DescribedObject | undefined;
  readonly ignored: readonly IgnoredFile[];
  readonly anomalies: readonly Anomaly[];
  /** Versions of pages not converted, and the one chosen for each (variants.ts). */
  readonly variantsSkipped: readonly SkippedVariant[];
}

/**
 * The plan of a batch, a step at a time. With the default convention (one folder = one object) and
 * no batch CSV, objects come a folder at a time as the tree is walked, each with the sidecar beside
 * it: memory does not grow with the batch. Naming rules group files across folders, and a batch
 * CSV's rows are matched against every object (by id or folder, as docs/metadata.md says): those
 * batches are planned whole first, then handed out an object at a time. An unreadable CSV
 * stops the run at the first step, before anything is converted.
 */
export async function* planSteps(
  masters: string,
  options: PlanOptions & { readonly rules?: readonly NameRule[] | undefined; readonly metadataCsv?: string | undefined; readonly store?: MasterStore | undefined },
): AsyncGenerator<PlanStep> {
  const countPages = options.store?.countPages ?? pageDirectories;
  // Sidecars are read from a local folder: the masters, or the copies a remote store made of them.
  const sidecars = options.store?.sidecarRoot ?? masters;
  if (options.rules || options.metadataCsv) {
    const plan = await planConversion(await scanMasters(masters, options.variants, options.store?.readFolder), countPages, options);
    const descriptions = await describeObjects(sidecars, plan, options.metadataCsv);
    yield { ignored: plan.ignored, anomalies: [...plan.anomalies, ...descriptions.anomalies], variantsSkipped: plan.variantsSkipped };
    for (const object of plan.objects) yield { object, described: descriptions.objects.get(object.id), ignored: [], anomalies: [], variantsSkipped: [] };
    return;
  }
  for await (const planned of planFolders(scanFolders(masters, options.variants, options.store?.readFolder), countPages, options)) yield describeFolder(sidecars, planned);
}

/** A planned folder with its own sidecar, read as the batch reading would (its objects are this folder's one, if any). */
async function describeFolder(masters: string, { folder, object, anomalies, variantsSkipped }: PlannedFolder): Promise<PlanStep> {
  const descriptions = await describeObjects(masters, { objects: object ? [object] : [], ignored: folder.ignored, anomalies: [], variantsSkipped: [] });
  return {
    object,
    described: object && descriptions.objects.get(object.id),
    ignored: folder.ignored,
    anomalies: [...anomalies, ...descriptions.anomalies],
    variantsSkipped,
  };
}

/**
 * The plan of ONE folder under the masters root (default convention, no batch CSV): the step a
 * whole-tree plan would give it, with the same identifiers (those given before are kept, new ones
 * taken from the same ledger), so that a later `vitrine convert` of the root finds them up to date.
 */
export async function planFolderStep(masters: string, folder: string, options: PlanOptions & { readonly store?: MasterStore | undefined }): Promise<PlanStep> {
  async function* one(): AsyncGenerator<ScannedFolder> {
    yield await scanFolder(masters, folder, options.variants, options.store?.readFolder);
  }
  for await (const planned of planFolders(one(), options.store?.countPages ?? pageDirectories, options)) return describeFolder(options.store?.sidecarRoot ?? masters, planned);
  throw new Error(`folder ${folder} was not planned`);
}
