import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from '../imaging/sharp.js';
import { renameDurably } from './durable.js';

const run = promisify(execFile);

/** Tesseract's languages: `eng`, or several joined by `+` (`eng+deu`), as its `-l` takes them. */
export const TESSERACT_LANG = /^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$/;

/** How long one page may take before its OCR is given up (an anomaly of the page). */
const TIMEOUT_MS = 10 * 60_000;

/** A page Tesseract could not read: an `ocr` anomaly of that page, never a failure of the batch. */
export class TesseractError extends Error {
  override readonly name = 'TesseractError';
}

/** What a kept hOCR file was made from: when it no longer matches the master, Tesseract runs again. */
interface KeptKey {
  readonly size: number;
  readonly mtimeMs: number;
  readonly lang: string;
}

/**
 * Runs Tesseract on pages that have no OCR sidecar of their own and keeps its hOCR in the output
 * folder (never beside the masters): `<dir>/<identifier>.hocr`, with `<identifier>.hocr.key`
 * naming the master's size, mtime and the languages it was read with, so that a re-run with the
 * page unchanged reads the kept file instead of running Tesseract again.
 */
export class TesseractOcr {
  /** Pages Tesseract read during this run (the others, if any, used a kept file). */
  runs = 0;

  constructor(
    /** Where the hOCR files are kept: DATA/ocr. */
    private readonly dir: string,
    /** On the same file system as `dir`, so the renames into place are atomic. */
    private readonly tempDir: string,
    readonly lang: string,
  ) {}

  /** The page's hOCR file, made by Tesseract unless a kept one matches the master. */
  async hocrOf(identifier: string, master: { absolutePath: string; size: number; mtimeMs: number }): Promise<string> {
    const kept = path.join(this.dir, ...`${identifier}.hocr`.split('/'));
    const key: KeptKey = { size: master.size, mtimeMs: master.mtimeMs, lang: this.lang };
    if (await this.matches(`${kept}.key`, key)) return kept;
    await mkdir(this.tempDir, { recursive: true });
    const work = await mkdtemp(path.join(this.tempDir, 'ocr-'));
    try {
      // Page 0, upright as the derivative is (EXIF orientation applied), as an 8-bit PNG that
      // Tesseract's image library reads whatever the master's flavour: its boxes are then in the
      // master's (oriented) pixels, which the indexing scales to the canvas.
      let picture = path.join(work, 'page.png');
      try {
        await sharp(master.absolutePath, { page: 0, autoOrient: true, failOn: 'error', limitInputPixels: false }).greyscale().png().toFile(picture);
      } catch {
        // A master sharp cannot decode (JPEG 2000, which the pipeline decodes with OpenJPEG):
        // Tesseract's own image library may (Debian's Leptonica reads JPEG 2000).
        picture = master.absolutePath;
      }
      try {
        await run('tesseract', [picture, path.join(work, 'page'), '-l', this.lang, 'hocr'], { timeout: TIMEOUT_MS, maxBuffer: 16 << 20 });
      } catch (error) {
        const failure = error as NodeJS.ErrnoException & { stderr?: string; killed?: boolean };
        if (failure.code === 'ENOENT') throw new TesseractError('tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng)');
        if (failure.killed) throw new TesseractError(`tesseract took longer than ${TIMEOUT_MS / 1000} s`);
        // Its stderr without the warnings, e.g. "Image too large: (40000, 20); Error during processing."
        const said = (failure.stderr ?? '').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('Warning'));
        const reason = said.length > 0 ? said.slice(-3).join('; ') : failure.message;
        throw new TesseractError(`tesseract failed: ${reason}`);
      }
      this.runs += 1;
      await mkdir(path.dirname(kept), { recursive: true });
      await renameDurably(path.join(work, 'page.hocr'), kept);
      // The key last: a run killed between the two renames reads the page again next time.
      const keyFile = path.join(work, 'key.json');
      await writeFile(keyFile, JSON.stringify(key));
      await renameDurably(keyFile, `${kept}.key`);
      return kept;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private async matches(keyFile: string, key: KeptKey): Promise<boolean> {
    try {
      const found = JSON.parse(await readFile(keyFile, 'utf8')) as Partial<KeptKey>;
      return found.size === key.size && found.lang === key.lang && typeof found.mtimeMs === 'number' && Math.abs(found.mtimeMs - key.mtimeMs) < 1;
    } catch {
      return false;
    }
  }
}

/** Why `tesseract` cannot read `lang` on this machine (not installed, a language missing), or undefined when it can. */
export async function tesseractProblem(lang: string): Promise<string | undefined> {
  if (!TESSERACT_LANG.test(lang)) return `'${lang}' is not a Tesseract language list (e.g. eng, or eng+deu)`;
  let listed: string;
  try {
    const { stdout } = await run('tesseract', ['--list-langs'], { timeout: 30_000 });
    listed = stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'tesseract is not installed (Debian: apt-get install tesseract-ocr tesseract-ocr-eng)';
    return `tesseract --list-langs failed: ${(error as Error).message}`;
  }
  // The first line is a heading ("List of available languages in ...").
  const available = new Set(listed.split('\n').slice(1).map((l) => l.trim()).filter(Boolean));
  const missing = lang.split('+').filter((l) => !available.has(l));
  if (missing.length > 0) return `Tesseract has no data for ${missing.join(', ')} (Debian: apt-get install ${missing.map((l) => `tesseract-ocr-${l.toLowerCase()}`).join(' ')})`;
  return undefined;
}
