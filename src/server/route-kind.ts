import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * What a request was, in a small fixed set: the label of metrics and access log lines. Derived from
 * the route that answered, never from the raw URL, so an identifier can't become a label value.
 * `tile` is an image request the plan found cheap (deep-zoom tiles, small regions), `region` one it
 * found heavy (over 1 MP decoded or encoded, a free rotation: see imaging/plan.ts).
 */
export const ROUTE_KINDS = ['tile', 'region', 'info', 'manifest', 'collection', 'pdf', 'web', 'health', 'metrics', 'other'] as const;
export type RouteKind = (typeof ROUTE_KINDS)[number];

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a route that knows better than its URL pattern (the Image API: info, tile or region). */
    routeKind: RouteKind | null;
  }
}

/** Lets routes mark their requests' kind (before any route registers). */
export function trackRouteKinds(app: FastifyInstance): void {
  app.decorateRequest('routeKind', null);
}

/** The kind of a request that has been routed (or not: 404s of unknown paths are `other`). */
export function routeKindOf(request: FastifyRequest): RouteKind {
  if (request.routeKind) return request.routeKind;
  const route = request.routeOptions.url;
  if (route === undefined) return 'other';
  if (route === '/health') return 'health';
  if (route === '/metrics') return 'metrics';
  if (route.includes('/manifest/')) return 'manifest';
  if (route.includes('/collection/')) return 'collection';
  if (route.startsWith('/iiif/pdf/')) return 'pdf';
  // The Image API routes mark their requests; one that failed before it could is an image request.
  if (route.startsWith('/iiif/')) return 'tile';
  return 'web';
}
