import * as crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** crypto.hash (Node 20.12+): the one-shot digest, without a Hash object per call (half the cost of one, per tile). */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash;
const sha1 = oneShot ? (text: string): string => oneShot('sha1', text, 'base64url') : (text: string): string => crypto.createHash('sha1').update(text).digest('base64url');

/** A strong ETag from the source's version and what was asked of it. */
export function etagFor(...parts: string[]): string {
  return `"${sha1(parts.join('\n')).slice(0, 22)}"`;
}

/**
 * Whether the client's copy (If-None-Match, else If-Modified-Since) is the one `etag` and `modified`
 * describe: the answer is then a 304.
 */
export function clientCopyIsCurrent(headers: IncomingHttpHeaders, etag: string, modified: Date): boolean {
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) return ifNoneMatch === '*' || ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
  const since = headers['if-modified-since'];
  if (since === undefined) return false;
  const time = Date.parse(since);
  return !Number.isNaN(time) && Math.floor(modified.getTime() / 1000) <= Math.floor(time / 1000);
}

/**
 * Sets the validators and answers 304 when the client's copy is current. Returns true when the
 * reply has been sent, so the caller can skip the work.
 */
export function notModified(request: FastifyRequest, reply: FastifyReply, etag: string, modified: Date, cacheControl: string): boolean {
  reply.header('ETag', etag).header('Last-Modified', modified.toUTCString()).header('Cache-Control', cacheControl);
  if (!clientCopyIsCurrent(request.headers, etag, modified)) return false;
  reply.code(304).send();
  return true;
}

/** Adds request headers to `Vary`, keeping those already named (Fastify sets headers whole). */
export function addVary(reply: FastifyReply, ...fields: string[]): void {
  const current = String(reply.getHeader('vary') ?? '');
  if (current.trim() === '*') return;
  const names = current.split(',').map((f) => f.trim()).filter(Boolean);
  for (const field of fields) {
    if (!names.some((name) => name.toLowerCase() === field.toLowerCase())) names.push(field);
  }
  reply.header('vary', names.join(', '));
}

/**
 * Errors are answers of the moment (a file being replaced, a decoder failing, a limit): no shared
 * cache may keep one, and none can revalidate one into a 304, so validators set before the work
 * failed are taken off. Added on the root instance before any route, so it covers every route,
 * the not-found handler and every plugin's error handler.
 */
export function neverCacheErrors(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.statusCode >= 400) {
      reply.removeHeader('etag');
      reply.removeHeader('last-modified');
      reply.header('cache-control', 'no-store');
    }
    done(null, payload);
  });
}
