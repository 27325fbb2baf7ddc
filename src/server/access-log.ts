import type { FastifyInstance, FastifyRequest } from 'fastify';
import { routeKindOf } from './route-kind.js';

/** The socket's bytes written when each request arrived: the difference at the end is what its response sent. */
const bytesBefore = new WeakMap<FastifyRequest, number>();

/** Log levels at which info lines are written. */
const LOGS_INFO = new Set(['info', 'debug', 'trace']);

/** The path of a URL without its query string, which may carry tokens. */
const pathOf = (url: string): string => {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
};

/**
 * One structured line per request (pino, info level), written when its response has been sent:
 * method, path (never the query string), status, bytes sent (headers included), duration, kind of
 * route, client address (the proxy's client with --trust-proxy) and user agent. Headers that carry
 * credentials (Authorization, Cookie) are never logged. Registered on the app itself (not
 * encapsulated), so its hooks see every route.
 */
export async function accessLogPlugin(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', async (request) => {
    bytesBefore.set(request, request.raw.socket?.bytesWritten ?? 0);
  });
  app.addHook('onResponse', async (request, reply) => {
    // Nothing built when the level drops the line (--log-level warn).
    if (!LOGS_INFO.has(request.log.level)) return;
    const socket = request.raw.socket;
    const before = bytesBefore.get(request);
    const agent = request.headers['user-agent'];
    request.log.info(
      {
        method: request.method,
        path: pathOf(request.raw.url ?? request.url),
        status: reply.statusCode,
        bytes: socket && before !== undefined ? socket.bytesWritten - before : undefined,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        kind: routeKindOf(request),
        remote: request.ip,
        // Bounded: a client chooses it.
        agent: agent === undefined ? undefined : agent.slice(0, 200),
      },
      'request',
    );
  });
}
Object.assign(accessLogPlugin, { [Symbol.for('skip-override')]: true });
