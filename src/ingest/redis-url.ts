/** Where a Redis queue lives, from `--queue redis://[user:password@]host[:port][/db]` (rediss:// for TLS). */
export interface RedisLocation {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly tls: boolean;
}

/** A queue URL that is not one Vitrine can use (a usage error). */
export class QueueUrlError extends Error {
  override name = 'QueueUrlError';
}

/** Parses a redis:// or rediss:// URL; the message names the bad part, never the password. */
export function parseRedisUrl(given: string): RedisLocation {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    // Whatever comes before an @ may be a password: not repeated.
    const shown = given.includes('@') ? `…${given.slice(given.lastIndexOf('@'))}` : given;
    throw new QueueUrlError(`queue: '${shown}' is not a URL such as redis://127.0.0.1:6379`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new QueueUrlError(`queue: ${url.protocol}// is not supported: give redis://host:port (or rediss:// for TLS)`);
  if (url.hostname === '') throw new QueueUrlError('queue: the Redis URL names no host (redis://host:port)');
  const db = url.pathname === '' || url.pathname === '/' ? 0 : Number(url.pathname.slice(1));
  if (!Number.isInteger(db) || db < 0) throw new QueueUrlError(`queue: '${url.pathname.slice(1)}' is not a Redis database number (redis://host:port/0)`);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 6379 : Number(url.port),
    db,
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    tls: url.protocol === 'rediss:',
  };
}

/** The URL as it may be shown (logs, errors): without its password. */
export function redactedRedisUrl(given: string): string {
  return given.replace(/(\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}
