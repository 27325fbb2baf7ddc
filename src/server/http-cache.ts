import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A strong ETag from the source's version and what was asked of it. */
export function etagFor(...parts: string[]): string {
  return `"${createHash('sha1').update(parts.join('\n')).digest('base64url').slice(0, 22)}"`;
}

/**
 * Sets the validators and answers 304 when the client's copy is current. Returns true when the
 * reply has been sent, so the caller can skip the work.
 */
export function notModified(request: FastifyRequest, reply: FastifyReply, etag: string, modified: Date, cacheControl: string): boolean {
  reply.header('ETag', etag).header('Last-Modified', modified.toUTCString()).header('Cache-Control', cacheControl);
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const match = ifNoneMatch === '*' || ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
    if (!match) return false;
  } else {
    const since = request.headers['if-modified-since'];
    if (since === undefined) return false;
    const time = Date.parse(since);
    if (Number.isNaN(time) || Math.floor(modified.getTime() / 1000) > Math.floor(time / 1000)) return false;
  }
  reply.code(304).send();
  return true;
}
