import { stat } from 'node:fs/promises';
import { convertAndRecord } from '../pipeline/page-step.js';
import { underMasters, type IngestContext } from './context.js';
import type { PageJobData } from './jobs.js';

/**
 * Converts and records one page (see convertAndRecord): skipped when the catalog already has it
 * up to date, so a page job run again after a crash never converts the same content twice, and
 * the page's row is committed whole or not at all. The master is looked at now: if it changed
 * since the plan, what is recorded is what was converted.
 */
export async function runPageJob(context: IngestContext, data: PageJobData): Promise<'converted' | 'skipped'> {
  const absolutePath = underMasters(context.masters, data.source);
  const info = await stat(absolutePath);
  const source = { relativePath: data.source, absolutePath, size: info.size, mtimeMs: info.mtimeMs };
  return convertAndRecord(context.catalog, context.target, data.objectId, { source, sourcePage: data.sourcePage, identifier: data.identifier }, data.sequence);
}
