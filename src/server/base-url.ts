import type { FastifyRequest } from 'fastify';

/**
 * The public URL of the server as clients see it: the configured base URL, or the request's own
 * scheme and host (Fastify's trustProxy makes these honour X-Forwarded-Proto/Host when enabled).
 */
export function publicBaseUrl(request: FastifyRequest, configured: string | undefined): string {
  return configured ?? `${request.protocol}://${request.host}`;
}
