import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

/** The built CLI (npm test builds dist/ first). */
export const CLI = path.resolve(import.meta.dirname, '../../dist/cli/index.js');
const run = promisify(execFile);

/** Runs the built CLI; resolves with its exit code and output whatever the code. */
export async function vitrine(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * Starts `vitrine serve` as a user would (the built CLI, a free port), resolving once it listens
 * with its URL, read from its start-up log line.
 */
export async function serveCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ url: string; stop: () => Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log-level', 'info', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vitrine serve did not start in 30 s:\n${output}`)), 30_000);
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const found = /serving .* at (https?:\/\/[^\s/"]+)/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`vitrine serve exited (${code}):\n${output}`));
    });
  });
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
