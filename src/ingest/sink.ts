import type { Logger } from 'pino';

/** What happens to a withdrawn object's derivatives: kept on disk (default) or removed. */
export type WithdrawDerivatives = 'keep' | 'remove';

/**
 * Where the masters watcher sends its reports: the ingest queue (convert a ready folder, withdraw a
 * removed one). Folders are relative to the masters root, '/' separators, '.' for the root itself.
 */
export interface IngestSink {
  objectReady(folder: string): Promise<void>;
  objectRemoved(folder: string): Promise<void>;
  /** A collection description changed (collection.yml …): the collection's folder. */
  collectionChanged?(folder: string): Promise<void>;
}

/** A sink that only logs what it would queue: what `vitrine serve --watch` uses until the ingest queue is wired. */
export class LoggingSink implements IngestSink {
  constructor(
    private readonly logger: Logger,
    private readonly withdrawDerivatives: WithdrawDerivatives,
  ) {}

  async objectReady(folder: string): Promise<void> {
    this.logger.info({ folder }, `watch: ${folder} is stable: would queue its conversion`);
  }

  async objectRemoved(folder: string): Promise<void> {
    this.logger.info({ folder }, `watch: ${folder} holds no masters any more: would withdraw its object (derivatives ${this.withdrawDerivatives === 'keep' ? 'kept' : 'removed'})`);
  }

  async collectionChanged(folder: string): Promise<void> {
    this.logger.info({ folder }, `watch: the collection description of ${folder} changed: would update its collection`);
  }
}
