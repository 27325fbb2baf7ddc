import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IiifError, badRequest } from '../../image-api/errors.js';

// What the JSON route plugins (presentation, search, change discovery) share: how they read the
// path after their prefix, and how they answer errors.

/** The decoded path after `prefix`: object ids and folder paths keep their slashes (literal or %2F). */
export function pathAfter(request: FastifyRequest, prefix: string): string {
  const url = request.raw.url ?? request.url;
  const query = url.indexOf('?');
  const rest = (query === -1 ? url : url.slice(0, query)).slice(prefix.length);
  try {
    return decodeURIComponent(rest).replace(/\/+$/, '');
  } catch {
    throw badRequest(`'${rest}': malformed percent-encoding`);
  }
}

/**
 * Errors as one line of plain text with their status (`404 no object 'x' …`): an IiifError says
 * what was wrong with the request; anything else is logged and answered 500 without its details.
 */
export function answerErrorsAsText(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof IiifError) {
      if (error.status >= 500) request.log.error({ err: error, url: request.url }, error.message);
      reply.code(error.status).type('text/plain; charset=utf-8').send(`${error.status} ${error.message}\n`);
      return;
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    reply.code(status).type('text/plain; charset=utf-8').send(`${status} ${status < 500 ? (error as Error).message : 'internal error'}\n`);
  });
}
