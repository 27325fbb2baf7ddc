import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { vitrine } from '../helpers/cli.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { convert, IDS, usersCli, writeProtectedMasters } from './fixture.js';

const enc = encodeURIComponent;

describe('vitrine users: passwords from standard input, scrypt hashes in DATA/users.json (0600)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir('vitrine-users-')));
  after(async () => cleanup());

  it('add, list, change, remove; the file holds salted hashes only, mode 0600', async () => {
    const added = await usersCli(['add', 'alice', '--data', dir], 'first password\n');
    assert.deepEqual([added.code, added.stdout.trim()], [0, 'added alice']);
    assert.equal((await usersCli(['add', 'bob', '--data', dir], 'same password\n')).code, 0);
    const file = path.join(dir, 'users.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes('first password') && !text.includes('same password'), 'no password in the file');
    const users = (JSON.parse(text) as { users: Record<string, { salt: string; hash: string; N: number }> }).users;
    assert.notEqual(users.alice!.salt, users.bob!.salt, 'a salt per user');
    assert.ok(users.alice!.N >= 2 ** 14);
    assert.deepEqual((await usersCli(['list', '--data', dir])).stdout.split('\n').filter(Boolean), ['alice', 'bob']);
    const changed = await usersCli(['add', 'alice', '--data', dir], 'second password\n');
    assert.deepEqual([changed.code, changed.stdout.trim()], [0, 'changed the password of alice']);
    assert.deepEqual([(await usersCli(['remove', 'bob', '--data', dir])).code, (await usersCli(['list', '--data', dir])).stdout.trim()], [0, 'alice']);
  });

  it('usage errors exit 2 with one line: a password on the command line, a short password, a bad name, no such user', async () => {
    const onArgv = await vitrine('users', 'add', 'carol', '--data', dir, '--password', 'on the command line');
    assert.equal(onArgv.code, 2, 'there is no --password option');
    const short = await usersCli(['add', 'carol', '--data', dir], 'short\n');
    assert.deepEqual([short.code, short.stderr.trim()], [2, 'vitrine: password: at least 8 characters']);
    const name = await usersCli(['add', 'bad name', '--data', dir], 'long enough password\n');
    assert.equal(name.code, 2);
    assert.match(name.stderr, /user name 'bad name'/);
    const none = await usersCli(['remove', 'nobody', '--data', dir]);
    assert.deepEqual([none.code, none.stderr.trim()], [2, "vitrine: no user 'nobody'"]);
    assert.equal((await usersCli(['list', '--data', path.join(dir, 'missing')])).code, 2);
  });
});

describe('a changed access.yml reaches a running server with a re-run of convert, without re-converting', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: RunningServer;
  before(async () => ({ dir, cleanup } = await tempDir('vitrine-policy-change-')));
  after(async () => {
    await server?.close();
    await cleanup();
  });

  it('open → restricted → open again, the server never restarted, no page converted again', async () => {
    const masters = path.join(dir, 'masters');
    const data = path.join(dir, 'data');
    await writeProtectedMasters(masters);
    assert.equal((await convert(masters, data)).converted, 6);
    server = await startServer(undefined, { data });
    const image = `${server.url}/iiif/3/${enc(IDS.open)}/full/max/0/default.jpg`;
    const probe = async (): Promise<number> => ((await (await fetch(`${server.url}/iiif/auth/2/probe/${enc(IDS.open)}`)).json()) as { status: number }).status;
    assert.equal((await fetch(image)).status, 200);
    assert.equal(await probe(), 200);

    await writeFile(path.join(masters, 'Open', 'access.yml'), 'access: restricted\n');
    const rerun = await convert(masters, data);
    assert.deepEqual([rerun.converted, rerun.skipped], [0, 6], 'only the policy changed: every page is skipped');
    assert.equal((await fetch(image)).status, 401, 'restricted now, without a restart');
    assert.equal(await probe(), 401);

    // A typo in the policy closes the folder rather than opening it, and the report says why.
    await writeFile(path.join(masters, 'Open', 'access.yml'), 'access: opne\n');
    const typo = await vitrine('convert', masters, '--out', data, '--json', '--workers', '2');
    const report = JSON.parse(typo.stdout) as { anomalies: { kind: string; detail: string }[] };
    assert.ok(report.anomalies.some((a) => a.kind === 'access' && a.detail.includes('Open/access.yml: access: expected open, degraded or restricted')), JSON.stringify(report.anomalies));
    assert.equal((await fetch(image)).status, 401);

    await writeFile(path.join(masters, 'Open', 'access.yml'), 'access: open\n');
    await convert(masters, data);
    assert.equal((await fetch(image)).status, 200, 'open again');
  });
});
