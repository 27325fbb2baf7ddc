import { execFile, spawn, type ChildProcess } from 'node:child_process';
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

export interface CliServer {
  /** The address it listens at, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  /** Stops it (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills it with a signal (SIGKILL: no clean-up at all) and waits for it to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** The server's process, for tests that signal it themselves. */
  readonly child: ChildProcess;
  /** Resolves with its exit code (or the signal that killed it) once it has exited. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Everything it wrote on stdout and stderr so far. */
  output(): string;
}

/**
 * Starts `vitrine serve …` as a process of its own (the built CLI, its own config loading), with
 * `env` added to this process's environment minus any VITRINE_* setting; resolves once it logs its
 * address, rejects with its output when it exits first.
 */
export function serveCli(args: string[], env: Record<string, string> = {}): Promise<CliServer> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITRINE_')));
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal!)));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const address = /Vitrine serving .* at (\S+)\/iiif\/3\//.exec(output);
      if (address) {
        const kill = async (signal: NodeJS.Signals): Promise<void> => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          await exited;
        };
        resolve({ url: address[1]!, stop, kill, child, exited, output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`vitrine serve exited (${code}) before listening:\n${output}`)));
  });
}

/** A `vitrine worker` process started by workerCli. */
export interface CliWorker {
  readonly child: ChildProcess;
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Sends a signal (SIGTERM: graceful stop; SIGKILL: none) and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<number | NodeJS.Signals>;
  output(): string;
}

/** Starts `vitrine worker …` (the built CLI); resolves once it logs that it is taking jobs, rejects with its output when it exits first. */
export function workerCli(args: string[], env: Record<string, string> = {}): Promise<CliWorker> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITRINE_')));
  const child = spawn(process.execPath, [CLI, 'worker', ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal!)));
  const kill = async (signal: NodeJS.Signals): Promise<number | NodeJS.Signals> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  let output = '';
  return new Promise((resolve, reject) => {
    let started = false;
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (!started && /worker: \d+ job\(s\) at once/.test(output)) {
        started = true;
        resolve({ child, exited, kill, output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      if (!started) reject(new Error(`vitrine worker exited (${code}) before taking jobs:\n${output}`));
    });
  });
}
