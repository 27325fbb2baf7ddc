import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';

/** What happened to one page. */
export interface PageOutcome {
  readonly outcome: 'converted' | 'skipped' | 'failed';
  readonly identifier: string;
  /** The master, relative to the masters folder. */
  readonly source: string;
  /** The page's directory inside its master (multi-page TIFF); 0 otherwise. */
  readonly page: number;
  readonly reason?: string | undefined;
}

/**
 * The per-page part of a conversion report, as NDJSON written while the batch runs: one line per
 * page as it finishes, then one `totals` line. A batch of millions of pages keeps none of them in
 * memory; a killed batch leaves the lines of what it finished (and no totals line).
 */
export class PageLog {
  private constructor(
    readonly file: string,
    private readonly stream: WriteStream,
  ) {}

  static async create(file: string): Promise<PageLog> {
    await mkdir(path.dirname(file), { recursive: true });
    const stream = createWriteStream(file, { flags: 'wx' });
    await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
    return new PageLog(file, stream);
  }

  /** Appends one line (buffered: the stream's own buffer, drained as the disk takes it). */
  write(record: { readonly event: string } & Record<string, unknown>): void {
    this.stream.write(`${JSON.stringify(record)}\n`);
  }

  /** Writes the last line, and flushes the file to the disk. */
  async finish(totals: Record<string, unknown>): Promise<void> {
    this.write({ event: 'totals', ...totals });
    await new Promise<void>((resolve, reject) => this.stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
    const handle = await open(this.file, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Closes the file without a totals line (the batch stopped on an error). */
  abort(): void {
    this.stream.end();
  }
}
