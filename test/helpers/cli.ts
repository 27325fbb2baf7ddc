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
