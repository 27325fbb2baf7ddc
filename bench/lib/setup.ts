import { execFileSync } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
/** The built CLI, run exactly as a user runs it. */
export const CLI = path.join(ROOT, 'dist/cli/index.js');

/**
 * Before a benchmark: the peers and wrk when it runs them, and a fresh build. The build runs every
 * time (a few seconds): a `dist/` older than the sources would time code that is no longer there.
 */
export function prepareBench(options: { peers: boolean }): void {
  if (options.peers) execFileSync('bash', [path.join(ROOT, 'scripts/install-bench-deps.sh')], { stdio: 'inherit' });
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Command-line options every peer benchmark takes, with its own defaults (node:util parseArgs form). */
export function peerBenchOptions(defaults: { seconds: string; rounds: string; connections: string; check: string }) {
  return {
    seconds: { type: 'string', default: defaults.seconds },
    rounds: { type: 'string', default: defaults.rounds },
    connections: { type: 'string', default: defaults.connections },
    check: { type: 'string', default: defaults.check },
    help: { type: 'boolean', default: false },
  } as const;
}
