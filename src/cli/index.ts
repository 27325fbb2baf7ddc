#!/usr/bin/env node
import { Command } from 'commander';
import { cpus } from 'node:os';
import { ConfigError } from '../config/load.js';
import { VERSION } from '../version.js';
import { convertCommand } from './convert.js';
import { exportCommand } from './export.js';
import { manifestsCommand } from './manifests.js';
import { serveCommand } from './serve.js';
import { usersCommand } from './users.js';
import { workerCommand } from './worker.js';

// libuv's pool runs libvips pipelines and file reads; it is sized once, before its first use. A batch
// needs room for every page in flight plus their checksum reads.
if (process.env.UV_THREADPOOL_SIZE === undefined) {
  const flag = process.argv.findIndex((a) => a === '--workers' || a === '-w');
  const workers = flag > 0 ? Number(process.argv[flag + 1]) || 0 : 0;
  process.env.UV_THREADPOOL_SIZE = String(Math.min(1024, Math.max(4, cpus().length + 2, 2 * workers + 2)));
}

/** Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error, 3 a batch finished with failed pages. */
const program = new Command('vitrine')
  .description('Vitrine: a complete, fast IIIF stack for archives, libraries and museums.')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(serveCommand())
  .addCommand(convertCommand())
  .addCommand(manifestsCommand())
  .addCommand(exportCommand())
  .addCommand(usersCommand())
  .addCommand(workerCommand())
  .addHelpText('after', '\nRun `vitrine <command> --help` for the options of a command.');

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
