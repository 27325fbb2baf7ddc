import path from 'node:path';
import { convertAndRecord } from '../pipeline/page-step.js';
import { scanFolder } from '../pipeline/scan.js';
import { underMasters, type IngestContext } from './context.js';
import type { PageJobData } from './jobs.js';

/**
 * Converts and records one page (see convertAndRecord): skipped when the catalog already has it
 * up to date, so a page job run again after a crash never converts the same content twice, and
 * the page's row is committed whole or not at all. The master is looked at now: if it changed
 * since the plan, what is recorded is what was converted.
 */
export async function runPageJob(context: IngestContext, data: PageJobData): Promise<'converted' | 'skipped'> {
  // The master as the scan sees it now: its size, mtime and OCR sidecar.
  const folder = await scanFolder(context.masters, path.posix.dirname(data.source), context.variants, context.target.stores?.masters.readFolder);
  const source = folder.masters.find((m) => m.relativePath === data.source);
  if (!source) throw Object.assign(new Error(`${underMasters(context.masters, data.source)}: the master is gone`), { code: 'ENOENT' });
  return convertAndRecord(context.catalog, context.target, data.objectId, { source, sourcePage: data.sourcePage, identifier: data.identifier }, data.sequence);
}
