import type { Progress } from '../pipeline/run.js';

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function line(p: Progress): { counts: string; rate: string; eta: string } {
  const elapsed = (Date.now() - p.startedAt) / 1000;
  const worked = p.converted + p.failed;
  const rate = elapsed > 0 ? worked / elapsed : 0;
  const remaining = p.total - p.done;
  return {
    counts: `${p.done}/${p.total} pages`,
    rate: `${rate.toFixed(rate < 10 ? 1 : 0)} pages/s`,
    eta: remaining === 0 ? 'done' : `ETA ${rate > 0 ? duration(remaining / rate) : '–'}`,
  };
}

/**
 * Progress of a batch on stderr: a redrawn bar on a terminal (pages done/total, rate, ETA), plain
 * log lines otherwise (every 10 s and at the end). Failures are always printed as they happen.
 */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): { update(p: Progress): void; finish(): void } {
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  let lastProgress: Progress | undefined;
  const draw = (p: Progress): void => {
    const { counts, rate, eta } = line(p);
    const width = 28;
    const filled = p.total === 0 ? width : Math.round((p.done / p.total) * width);
    const failed = p.failed > 0 ? ` · ${p.failed} failed` : '';
    stream.write(`\r\x1b[K[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${counts} · ${rate} · ${eta}${failed}`);
  };
  return {
    update(p) {
      lastProgress = p;
      if (p.last?.outcome === 'failed') {
        if (tty) stream.write('\r\x1b[K');
        stream.write(`failed: ${p.last.source}: ${p.last.reason}\n`);
        if (tty) draw(p);
      }
      const now = Date.now();
      if (tty && (now - lastDraw > 100 || p.done === p.total)) {
        lastDraw = now;
        draw(p);
      } else if (!tty && (now - lastDraw > 10_000 || p.done === p.total) && p.total > 0) {
        lastDraw = now;
        const { counts, rate, eta } = line(p);
        stream.write(`progress: ${counts} (${p.converted} converted, ${p.skipped} skipped, ${p.failed} failed), ${rate}, ${eta}\n`);
      }
    },
    finish() {
      if (tty && lastProgress) stream.write('\n');
    },
  };
}
