#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError } from '../config/load.js';
import { VERSION } from '../version.js';
import { serveCommand } from './serve.js';

/** Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error. */
const program = new Command('vitrine')
  .description('Vitrine: a complete, fast IIIF stack for archives, libraries and museums.')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(serveCommand())
  .addHelpText('after', '\nRun `vitrine <command> --help` for the options of a command.');

program.exitOverride((error) => {
  process.exit(error.exitCode === 0 ? 0 : 2);
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`vitrine: ${message}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
