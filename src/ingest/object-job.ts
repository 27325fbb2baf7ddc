import path from 'node:path';
import { FolderPolicies } from '../auth/folder-policies.js';
import { derivativePathOf, isUpToDate, pageKey, recordObject } from '../pipeline/page-step.js';
import { planFolderStep } from '../pipeline/plan-steps.js';
import type { PlannedPage } from '../pipeline/plan.js';
import type { IngestContext } from './context.js';
import { FINISHED_STATES, type Job, type NewJob, type ObjectJobData, type PageJobData } from './jobs.js';
import { lookUpFolder } from './masters-folder.js';
import type { JobQueue } from './queue.js';

/** A page job's idempotency key: the master's content (path, page, size, mtime) and the settings that convert it. */
export function pageJobKey(page: PlannedPage, settingsKey: string): string {
  return `page:${page.source.relativePath}#${page.sourcePage}:${page.source.size}:${Math.round(page.source.mtimeMs)}:${settingsKey}`;
}

/** The key of the job that ingests an object folder: one live job per folder. */
export const objectJobKey = (folder: string): string => `object:${folder}`;

/** A job ingesting an object folder. */
export const objectJob = (folder: string): NewJob => ({ key: objectJobKey(folder), data: { kind: 'object', folder, phase: 'plan' }, renew: 'finished' });

/** What one turn of an object job came to. */
export type ObjectTurn =
  | { readonly kind: 'wait'; readonly data: ObjectJobData; readonly objectId: string; readonly pages: number }
  | { readonly kind: 'done'; readonly objectId: string; readonly pages: number; readonly failed: number }
  | { readonly kind: 'failed'; readonly reason: string };

/**
 * One turn of an object job. It plans the folder (identifiers as a whole-tree `vitrine convert`
 * gives them: kept from the catalog, new ones recorded there) and makes sure each planned page
 * has its page job (keyed by the master's content, so a page already converted is not converted
 * again). While some are unfinished, it waits for them; once all are finished, it records the
 * object: its page order (failed pages left out) and its metadata. Planning again on the second
 * turn catches a folder that changed meanwhile (new pages get jobs, and are waited for).
 *
 * The collections' descriptions (collection.yml) are a batch's business: a whole-tree convert
 * records them; an object's ingest leaves them as they are.
 */
export async function runObjectTurn(queue: JobQueue, context: IngestContext, job: Job): Promise<ObjectTurn> {
  const data = job.data as ObjectJobData;
  const { masters, catalog, target } = context;
  // Where the masters are read: a local folder, or an s3:// prefix listed a folder at a time.
  const store = target.stores?.masters;
  if ((await lookUpFolder(masters, data.folder, store)) !== 'folder') return { kind: 'failed', reason: `the folder ${data.folder} is not under the masters root (any more)` };
  const step = await planFolderStep(masters, data.folder, {
    store,
    rootName: path.posix.basename(masters),
    ledger: await catalog.identifierLedger(),
    give: (pages) => catalog.giveIdentifiers(pages),
    variants: context.variants,
  });
  const object = step.object;
  if (!object) return { kind: 'failed', reason: `no masters in ${data.folder} (TIFF, JPEG, PNG or JPEG 2000 files)` };
  // The object's access policy before any page is converted (each is served once recorded), as a
  // whole-tree run records it: a restricted folder's new scans are never served open meanwhile.
  const access = (await FolderPolicies.forFolder(masters, object.folder, store)).policyOf(object.folder, step.described?.policy);
  await catalog.setObjectAccess(object.id, access.policy, access.sources);

  const children = new Map<string, Job>();
  // Later turns find each page's job among the object's children: read once (on Redis, one read per job).
  const known = data.phase === 'plan' ? undefined : new Map((await queue.children(job.id)).map((c) => [c.key, c]));
  for (const [i, page] of object.pages.entries()) {
    const key = pageJobKey(page, target.settingsKey);
    // First turn: a page job that ended before is run again if the page is not in the catalog as
    // it should be (a done one stays done when it is: no second conversion). Later turns only wait.
    let renew: NewJob['renew'] | 'never' = 'never';
    if (data.phase === 'plan') {
      const upToDate = await isUpToDate(catalog, page.source, page, derivativePathOf(target.out, page.identifier, target.settings), target.settingsKey, false, target.stores, target.checksums);
      renew = upToDate ? 'unsuccessful' : 'finished';
    }
    const pageData: PageJobData = {
      kind: 'page',
      objectId: object.id,
      identifier: page.identifier,
      source: page.source.relativePath,
      sourcePage: page.sourcePage,
      sequence: i + 1,
      size: page.source.size,
      mtimeMs: page.source.mtimeMs,
    };
    const child =
      renew === 'never'
        ? (known?.get(key) ?? (await queue.enqueue({ key, data: pageData, parent: job.id, renew: 'unsuccessful' })))
        : await queue.enqueue({ key, data: pageData, parent: job.id, renew });
    children.set(key, child);
  }
  const unfinished = [...children.values()].some((c) => !FINISHED_STATES.includes(c.state));
  if (unfinished) return { kind: 'wait', data: { ...data, phase: 'finalise' }, objectId: object.id, pages: object.pages.length };

  const failedKeys = new Set<string>();
  for (const page of object.pages) {
    const child = children.get(pageJobKey(page, target.settingsKey))!;
    if (child.state !== 'done') failedKeys.add(pageKey({ sourcePath: page.source.absolutePath, sourcePage: page.sourcePage }));
  }
  await recordObject(catalog, object, failedKeys, step.described, target.ocr);
  return { kind: 'done', objectId: object.id, pages: object.pages.length - failedKeys.size, failed: failedKeys.size };
}
