import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { serveConfigObject } from '../../src/config/schema.js';
import { CLI } from '../helpers/cli.js';
import { startServer, tempDir, type RunningServer, REFERENCE_PNG } from '../helpers/server.js';
import { copyFile } from 'node:fs/promises';

/**
 * What can be checked of the container without a Docker engine (there is none here): that the
 * Dockerfile copies files that exist and are not ignored, that its runtime stage installs the
 * libraries the built addon links and its build stage their -dev packages, that its health check
 * works against a real server, and that the compose example runs commands and flags Vitrine has.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

interface Stage {
  readonly name: string;
  /** Instructions, continuation lines joined. */
  readonly lines: readonly string[];
}

function stages(dockerfile: string): Stage[] {
  const joined = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const out: { name: string; lines: string[] }[] = [];
  for (const line of joined) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) out.push({ name: from[1] ?? String(out.length), lines: [] });
    else out[out.length - 1]!.lines.push(line);
  }
  return out;
}

/** The packages an `apt-get install` of a stage names. */
const aptPackages = (stage: Stage): string[] =>
  stage.lines.flatMap((l) => {
    const m = /apt-get install ([^&]*)/.exec(l);
    return m ? m[1]!.split(/\s+/).filter((w) => w !== '' && !w.startsWith('-')) : [];
  });

/** Debian's packages holding shared libraries of the system (one dpkg call: each takes a second). */
function packagesOf(libraries: readonly string[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const line of execFileSync('dpkg', ['-S', ...libraries.map((l) => `*/${l}`)], { encoding: 'utf8' }).split('\n')) {
    const m = /^([^:,\s]+)(?::\S+)?: (.*)\/([^/]+)$/.exec(line);
    // A 32-bit copy (libc6-i386's /lib32/libm.so.6) is not what a 64-bit addon loads.
    if (!m || /(^|\/)(lib32|libx32)$|i386-linux-gnu/.test(m[2]!)) continue;
    if (!m[1]!.endsWith('-dev') && libraries.includes(m[3]!) && !owners.has(m[3]!)) owners.set(m[3]!, m[1]!);
  }
  for (const library of libraries) assert.ok(owners.has(library), `no Debian package holds ${library}`);
  return owners;
}

describe('Container (Dockerfile, .dockerignore, deploy/compose.yml), checked without a Docker engine', () => {
  const dockerfile = stages(read('Dockerfile'));
  const build = dockerfile.find((s) => s.name === 'build')!;
  const runtime = dockerfile[dockerfile.length - 1]!;
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

  it('has a build stage and a runtime stage on Node 20 Debian slim; COPY takes files that exist and are not ignored', () => {
    assert.deepEqual(dockerfile.map((s) => s.name), ['build', 'runtime']);
    assert.deepEqual([...read('Dockerfile').matchAll(/^FROM (\S+)/gm)].map((m) => m[1]), ['node:20-bookworm-slim', 'node:20-bookworm-slim']);
    for (const stage of dockerfile) {
      for (const line of stage.lines.filter((l) => l.startsWith('COPY '))) {
        const words = line.split(/\s+/).slice(1);
        const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
        const sources = words.filter((w) => !w.startsWith('--')).slice(0, -1);
        if (from !== undefined) {
          assert.ok(dockerfile.slice(0, dockerfile.indexOf(stage)).some((s) => s.name === from), `${line}: no earlier stage ${from}`);
          // What the build stage makes, as this clone has it after npm ci (the same steps).
          for (const source of sources) assert.ok(existsSync(path.join(ROOT, path.relative('/app', source))), `${line}: the build makes no ${source}`);
          continue;
        }
        for (const source of sources) {
          assert.ok(existsSync(path.join(ROOT, source)), `${line}: ${source} is not in the repository`);
          const hit = ignored.find((pattern) => source === pattern || source.startsWith(`${pattern}/`));
          assert.equal(hit, undefined, `${line}: ${source} is excluded by .dockerignore (${hit})`);
        }
      }
    }
  });

  it('builds the addon with every -dev library install-system-deps.sh gives it, and ships only their runtime libraries', () => {
    const buildPackages = aptPackages(build);
    const runtimePackages = aptPackages(runtime);
    const script = read('scripts/install-system-deps.sh');
    const addonDev = /for package in ([^;]+); do/.exec(script)![1]!.trim().split(/\s+/);
    for (const dev of [...addonDev, 'libjpeg62-turbo-dev', 'g++', 'make', 'python3']) assert.ok(buildPackages.includes(dev), `build stage lacks ${dev}`);
    assert.deepEqual(runtimePackages.filter((p) => p.endsWith('-dev') || ['g++', 'make', 'python3'].includes(p)), [], 'no headers or compiler at run time');
    // Every library the built addon links is installed at run time (or is the C/C++ runtime Node itself needs).
    const needed = [...execFileSync('readelf', ['-d', path.join(ROOT, 'native/build/Release/vitrine_native.node')], { encoding: 'utf8' }).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
    assert.ok(needed.includes('libopenjp2.so.7') && needed.includes('libturbojpeg.so.0'), `the addon here was built without its libraries: ${needed.join(' ')}`);
    const BASE = new Set(['libc6', 'libstdc++6', 'libgcc-s1']);
    const owners = packagesOf(needed);
    for (const library of needed) {
      const owner = owners.get(library)!;
      if (!BASE.has(owner)) assert.ok(runtimePackages.includes(owner), `the addon links ${library} (${owner}), which the runtime stage does not install`);
    }
    // …and each runtime package is what one of the build stage's -dev packages depends on.
    const devDepends = buildPackages
      .filter((p) => p.endsWith('-dev'))
      .flatMap((p) => execFileSync('dpkg-query', ['-W', '-f=${Depends}', p], { encoding: 'utf8' }).split(/[,|]/).map((d) => d.trim().split(/\s/)[0]!));
    for (const p of runtimePackages) assert.ok(devDepends.includes(p), `${p} is no runtime library of the build stage's -dev packages`);
  });

  it('runs as a non-root user, keeps /data on a volume, starts vitrine serve, and checks /health', () => {
    const text = runtime.lines.join('\n');
    assert.match(text, /^USER node$/m);
    assert.match(text, /^VOLUME \["\/data"\]$/m);
    assert.match(text, /^ENTRYPOINT \["node", "\/app\/dist\/cli\/index\.js"\]$/m);
    assert.match(text, /^CMD \["serve", "--data", "\/data"\]$/m);
    assert.match(text, /^HEALTHCHECK .*\/health/m);
    assert.ok(existsSync(CLI), 'dist/cli/index.js (npm run build)');
  });

  describe('the HEALTHCHECK command', () => {
    let server: RunningServer;
    let cleanup: () => Promise<void>;
    before(async () => {
      const made = await tempDir('vitrine-container-');
      cleanup = made.cleanup;
      await copyFile(REFERENCE_PNG, path.join(made.dir, 'ref.png'));
      server = await startServer(made.dir);
    });
    after(async () => {
      await server?.close();
      await cleanup?.();
    });

    it('exits 0 against a running server and 1 when nothing answers', async () => {
      const check = /^HEALTHCHECK .*CMD (\[.*\])$/m.exec(runtime.lines.join('\n'))![1]!;
      const [command, ...args] = JSON.parse(check) as string[];
      assert.equal(command, 'node');
      // A child of its own (the server answers in this process: a synchronous spawn would block it).
      const run = (port: string): Promise<number | null> =>
        new Promise((resolve) => spawn(process.execPath, args, { env: { ...process.env, VITRINE_PORT: port }, timeout: 10_000, stdio: 'ignore' }).once('exit', resolve));
      assert.equal(await run(new URL(server.url).port), 0);
      assert.equal(await run('1'), 1);
    });
  });

  it('compose: every service uses commands and flags vitrine has, one PostgreSQL catalog and one Redis queue for all', () => {
    const compose = YAML.parse(read('deploy/compose.yml'), { merge: true }) as { services: Record<string, { image?: string; command?: string[]; profiles?: string[]; environment?: Record<string, string>; volumes?: string[] }> };
    const help = new Map<string, string | undefined>();
    const helpOf = (command: string): string | undefined => {
      if (!help.has(command)) {
        const result = spawnSync(process.execPath, [CLI, command, '--help'], { encoding: 'utf8' });
        // An unknown command prints the general help (exit 0): a command's own starts with its usage.
        help.set(command, result.status === 0 && result.stdout.startsWith(`Usage: vitrine ${command} `) ? result.stdout : undefined);
      }
      return help.get(command);
    };
    const envKeys = new Set(Object.keys(serveConfigObject.shape).map((k) => `VITRINE_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`));
    const vitrine = Object.entries(compose.services).filter(([, s]) => s.image === 'vitrine:latest');
    assert.deepEqual(vitrine.map(([name]) => name).sort(), ['catalog', 'images', 'worker']);
    for (const [name, service] of vitrine) {
      const coming = service.profiles?.includes('coming') ?? false;
      const [command, ...args] = service.command!;
      const text = helpOf(command!);
      if (text === undefined) {
        assert.ok(coming, `${name}: vitrine has no '${command}' command, and the service is not marked coming`);
        continue;
      }
      for (const flag of args.filter((a) => a.startsWith('--'))) assert.ok(text.includes(`${flag} `) || text.includes(`${flag}\n`), `${name}: vitrine ${command} has no ${flag}`);
      for (const key of Object.keys(service.environment ?? {}).filter((k) => k.startsWith('VITRINE_'))) assert.ok(envKeys.has(key), `${name}: ${key} is no setting`);
    }
    // Everything the distributed example needs runs now: nothing waits behind a profile.
    for (const name of ['redis', 'postgres', 'minio']) assert.ok(compose.services[name] && compose.services[name]!.profiles === undefined, `${name} runs by default`);
    // Servers and workers share one catalog and one queue, and every server applies the access policies.
    const catalogs = new Set(vitrine.map(([, s]) => s.command![s.command!.indexOf('--catalog') + 1]));
    assert.deepEqual([...catalogs], ['postgres://vitrine@postgres:5432/vitrine'], 'one PostgreSQL catalog for all');
    for (const name of ['catalog', 'worker']) assert.ok(compose.services[name]!.command!.includes('redis://redis:6379'), `${name} on the Redis queue`);
    // The proxy's upstreams are the compose services, on the port the image listens on.
    const nginx = read('deploy/nginx.conf');
    for (const [, host, port] of nginx.matchAll(/server (\w+):(\d+);/g)) {
      assert.ok(compose.services[host!], `nginx.conf names ${host}, no service of compose.yml`);
      assert.equal(port, '8182');
    }
    assert.ok(compose.services.proxy!.volumes!.some((v) => v.startsWith('./nginx.conf:')));
  });
});
