import { statSync } from 'node:fs';
import { catalogLocation } from '../catalog/open.js';
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import type { ServeConfig } from '../config/schema.js';
import { CATALOG_FILE } from '../presentation/store.js';
import { LoggingSink, type IngestSink } from './sink.js';
import { MastersWatcher } from './watch.js';
import type { VariantPreference } from '../pipeline/variants.js';

/** Refuses a --watch folder that is not there before anything starts (a usage error, exit 2). */
export function checkWatchFolder(config: ServeConfig): void {
  if (config.watch === undefined) return;
  const info = statSync(config.watch, { throwIfNoEntry: false });
  if (!info) throw new ConfigError(`watch: ${config.watch} not found (give the masters folder to watch)`);
  if (!info.isDirectory()) throw new ConfigError(`watch: ${config.watch} is not a folder (give the masters folder to watch)`);
}

/**
 * `vitrine serve --watch`: watches the masters folder and tells `sink` (by default a sink that only
 * logs) which objects to convert or withdraw; undefined without --watch.
 */
export async function startWatching(
  config: ServeConfig,
  logger: Logger,
  sink: IngestSink = new LoggingSink(logger, config.withdrawDerivatives),
  variants?: VariantPreference,
): Promise<MastersWatcher | undefined> {
  if (config.watch === undefined || config.data === undefined) return undefined;
  const catalogFile = path.join(config.data, CATALOG_FILE);
  const watcher = await MastersWatcher.start({
    root: config.watch,
    stableMs: config.watchStable,
    pollMs: config.watchPoll,
    catalogFile,
    catalog: catalogLocation(config.data, config.catalog, config.catalogSchema),
    variants,
    events: {
      objectReady: (folder) => sink.objectReady(folder),
      objectRemoved: (folder) => sink.objectRemoved(folder),
      collectionChanged: (folder) => sink.collectionChanged?.(folder),
      error: (error) => logger.error({ err: error }, `watch: ${error.message}`),
    },
  });
  const how = config.watchPoll === undefined ? 'file system events' : `polling every ${config.watchPoll} ms`;
  logger.info(
    `watching ${watcher.root} (${how}): a new or changed object is queued once its files keep their size and mtime for ${config.watchStable} ms; ` +
      `a removed one is withdrawn, its derivatives ${config.withdrawDerivatives === 'keep' ? 'kept' : 'removed'}`,
  );
  return watcher;
}
