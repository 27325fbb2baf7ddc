import { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { ConfigError } from '../config/error.js';
import { UsersError, UsersFile } from '../auth/users.js';

/** The password, from standard input (never from the command line, where `ps` and shell history see it): its first line. */
async function passwordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password (then Enter, then Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

function usersIn(data: string | undefined): UsersFile {
  if (data === undefined) throw new ConfigError('--data: give the data folder whose users.json to change');
  if (!existsSync(data) || !statSync(data).isDirectory()) throw new ConfigError(`--data: ${data} is not a folder`);
  return UsersFile.inData(data);
}

/** Usage problems exit 2 (ConfigError); a UsersError (bad name, short password) is one too. */
async function run(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (error instanceof UsersError) throw new ConfigError(error.message);
    throw error;
  }
}

export function usersCommand(): Command {
  const users = new Command('users')
    .summary('manage the users of the login profile (DATA/users.json)')
    .description('Add, remove and list the people who may log in to see images whose access.yml says `profile: login`.\nPasswords are read from standard input and kept as scrypt hashes (users.json, mode 0600).');
  users
    .command('add')
    .argument('<name>', 'user name (letters, digits, . _ @ -)')
    .requiredOption('-d, --data <dir>', 'data folder (output of vitrine convert)')
    .description('add a user, or change their password; the password is read from standard input')
    .action((name: string, opts: { data?: string }) =>
      run(async () => {
        const file = usersIn(opts.data);
        const password = await passwordFromStdin();
        const added = await file.add(name, password);
        console.log(`${added ? 'added' : 'changed the password of'} ${name}`);
      }),
    );
  users
    .command('remove')
    .argument('<name>', 'user name')
    .requiredOption('-d, --data <dir>', 'data folder')
    .description('remove a user')
    .action((name: string, opts: { data?: string }) =>
      run(async () => {
        if (!(await usersIn(opts.data).remove(name))) throw new ConfigError(`no user '${name}'`);
        console.log(`removed ${name}`);
      }),
    );
  users
    .command('list')
    .requiredOption('-d, --data <dir>', 'data folder')
    .description('list the user names')
    .action((opts: { data?: string }) =>
      run(async () => {
        for (const name of await usersIn(opts.data).names()) console.log(name);
      }),
    );
  return users;
}
