import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CLI, vitrine } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';

/** Identifiers of the masters written by writeProtectedMasters (default naming: folder path + page). */
export const IDS = {
  open: 'Open/001',
  restricted: 'Fonds/Letter/001',
  /** Under Fonds (restricted) but its manifest.yml says `access: open`: the deeper policy wins. */
  openedBySidecar: 'Fonds/Note/001',
  degraded: 'Maps/Map/001',
  kiosk: 'Room/Book/001',
  external: 'Sso/Deed/001',
} as const;

/** A masters tree with an access.yml per series (pages 600×450). */
export async function writeProtectedMasters(root: string): Promise<void> {
  const files: Record<string, string> = {
    'Fonds/access.yml': 'access: restricted\nprofile: login\n',
    'Fonds/Note/manifest.yml': 'label: A note anyone may read\naccess: open\n',
    'Maps/access.yml': 'access: degraded\ndegradedSize: 200\nprofile: clickthrough\n',
    'Room/access.yml': 'access: restricted\nprofile: kiosk\n',
    'Sso/access.yml': 'access: restricted\nprofile: external\n',
  };
  for (const [n, id] of Object.values(IDS).entries()) {
    const folder = path.join(root, ...path.posix.dirname(id).split('/'));
    await mkdir(folder, { recursive: true });
    await pagePicture(n + 1, 600, 450).tiff().toFile(path.join(folder, '001.tif'));
  }
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(root, ...file.split('/')), text);
}

export async function convert(masters: string, out: string): Promise<{ converted: number; skipped: number }> {
  const result = await vitrine('convert', masters, '--out', out, '--json', '--workers', '2');
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as { totals: { converted: number; skipped: number } }).totals;
}

/** Runs `vitrine users …` as a child process, writing `stdin` to its standard input. */
export function usersCli(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'users', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** A minimal cookie jar: name → value of the Set-Cookie headers seen (signed values as sent). */
export class Jar {
  readonly cookies = new Map<string, string>();
  /** The raw Set-Cookie lines of the last response that set any. */
  lastSetCookie: string[] = [];

  take(response: Response): void {
    const lines = response.headers.getSetCookie();
    if (lines.length > 0) this.lastSetCookie = lines;
    for (const line of lines) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', this.header());
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.take(response);
    return response;
  }
}

/** The message a token service page posts to its parent, and the origin it addresses. */
export function postedMessage(page: string): { message: Record<string, unknown>; target: string | null } {
  const json = /<script type="application\/json" id="iiif-auth-message">(.*?)<\/script>/s.exec(page)?.[1];
  const target = /var target = (.*?);/.exec(page)?.[1];
  assert.ok(json && target, `not a token service page:\n${page}`);
  return { message: JSON.parse(json) as Record<string, unknown>, target: JSON.parse(target) as string | null };
}

/** The hidden CSRF field of a form page. */
export function csrfOf(page: string): string {
  const token = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
  assert.ok(token, `no CSRF field in:\n${page}`);
  return token;
}

/** The secret and the user's password of protectedArchive's server. */
export const ARCHIVE_SECRET = 'a-test-secret-that-is-long-enough-0123456789';
export const ARCHIVE_PASSWORD = 'correct horse battery';

/**
 * The protected masters converted into a data folder with user `alice` (ARCHIVE_PASSWORD), served
 * with ARCHIVE_SECRET and the external profile's header X-Remote-User: what the flow tests start from.
 */
export async function protectedArchive(prefix: string): Promise<{ data: string; server: RunningServer; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir(prefix);
  const masters = path.join(dir, 'masters');
  const data = path.join(dir, 'data');
  await writeProtectedMasters(masters);
  await convert(masters, data);
  const added = await usersCli(['add', 'alice', '--data', data], `${ARCHIVE_PASSWORD}\n`);
  assert.equal(added.code, 0, added.stderr);
  const server = await startServer(undefined, { data, authSecret: ARCHIVE_SECRET, externalAuthHeader: 'X-Remote-User' });
  return { data, server, cleanup };
}
