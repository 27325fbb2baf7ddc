import { describeObjects, type DescribedObject } from './metadata/collect.js';
import { pageDirectories } from './pages.js';
import { planConversion, planFolders, type Anomaly, type PlannedObject, type PlanOptions } from './plan.js';
import type { NameRule } from './rules.js';
import { scanFolders, scanMasters, type IgnoredFile } from './scan.js';

/** A piece of a batch's plan: an object to convert (with its description), and what the report says. */
export interface PlanStep {
  readonly object?: PlannedObject | undefined;
  readonly described?: DescribedObject | undefined;
  readonly ignored: readonly IgnoredFile[];
  readonly anomalies: readonly Anomaly[];
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
  options: PlanOptions & { readonly rules?: readonly NameRule[] | undefined; readonly metadataCsv?: string | undefined },
): AsyncGenerator<PlanStep> {
  if (options.rules || options.metadataCsv) {
    const plan = await planConversion(await scanMasters(masters), pageDirectories, options);
    const descriptions = await describeObjects(masters, plan, options.metadataCsv);
    yield { ignored: plan.ignored, anomalies: [...plan.anomalies, ...descriptions.anomalies] };
    for (const object of plan.objects) yield { object, described: descriptions.objects.get(object.id), ignored: [], anomalies: [] };
    return;
  }
  for await (const { folder, object, anomalies } of planFolders(scanFolders(masters), pageDirectories, options)) {
    // The folder's own sidecar, read as the batch reading would (its objects are this folder's one, if any).
    const descriptions = await describeObjects(masters, { objects: object ? [object] : [], ignored: folder.ignored, anomalies: [] });
    yield {
      object,
      described: object && descriptions.objects.get(object.id),
      ignored: folder.ignored,
      anomalies: [...anomalies, ...descriptions.anomalies],
    };
  }
}
