/**
 * CORS for every route (@fastify/cors): any origin may read every answer (the Image API's `cors`
 * feature), and the headers a viewer needs are exposed to its scripts.
 */
export const CORS_OPTIONS = {
  origin: '*',
  methods: ['GET', 'HEAD', 'OPTIONS'],
  exposedHeaders: ['Link', 'ETag', 'Last-Modified', 'Content-Length'],
  maxAge: 86400,
} as const;

/**
 * The headers @fastify/cors gives a GET with CORS_OPTIONS (any Origin, or none), in its order: the
 * image fast path, which answers before Fastify's hooks run, sends these (test/server/image-fast-path.test.ts compares).
 */
export const CORS_GET_HEADERS: readonly (readonly [string, string])[] = [
  ['access-control-allow-origin', CORS_OPTIONS.origin],
  ['access-control-expose-headers', CORS_OPTIONS.exposedHeaders.join(', ')],
];
