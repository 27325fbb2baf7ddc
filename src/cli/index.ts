#!/usr/bin/env node
import { Command } from 'commander';
import { cpus } from 'node:os';
import { ConfigError } from '../config/error.js';
import { VERSION } from '../version.js';

// libuv's pool runs libvips pipelines and file reads; it is sized once, before its first use. A batch
// needs room for every page in flight plus their checksum reads.
if (process.env.UV_THREADPOOL_SIZE === undefined) {
  const flag = process.argv.findIndex((a) => a === '--workers' || a === '-w');
  const workers = flag > 0 ? Number(process.argv[flag + 1]) || 0 : 0;
  process.env.UV_THREADPOOL_SIZE = String(Math.min(1024, Math.max(4, cpus().length + 2, 2 * workers + 2)));
}

/**
 * The commands, in the order help lists them, each loaded only when it runs: a `vitrine convert`
 * does not load the server (Fastify, prom-client, pino: ~0.1 s of CPU at every start).
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.js')).serveCommand(),
  convert: async () => (await import('./convert.js')).convertCommand(),
  manifests: async () => (await import('./manifests.js')).manifestsCommand(),
  export: async () => (await import('./export.js')).exportCommand(),
  users: async () => (await import('./users.js')).usersCommand(),
  worker: async () => (await import('./worker.js')).workerCommand(),
};
// The program has no options of its own but --help and --version: its first other word names the command.
const named = process.argv.slice(2).find((a) => !a.startsWith('-'));
const needed = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);

/** Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error, 3 a batch finished with failed pages. */
const program = new Command('vitrine')
  .description('Vitrine: a complete, fast IIIF stack for archives, libraries and museums.')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText('after', '\nRun `vitrine <command> --help` for the options of a command.');
for (const command of await Promise.all(needed.map((name) => COMMANDS[name]!()))) program.addCommand(command);

// Descriptions are written as paragraphs with line breaks for the source's sake; let Commander wrap
// them to the terminal instead of breaking lines twice.
for (const command of program.commands) {
  command.description(command.description().split(/\n{2,}/).map((p) => p.replace(/\s*\n\s*/g, ' ')).join('\n\n'));
}

// A usage error (unknown option, bad option value) exits 2, in a command as at the top: Commander
// does not pass exitOverride on to commands added with addCommand.
for (const command of [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)]) {
  command.exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`vitrine: ${message}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
