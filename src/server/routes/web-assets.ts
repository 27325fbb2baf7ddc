import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { isImmutable, PUBLIC_DIR, PUBLIC_PREFIX } from '../../web/assets.js';

/** Hashed and versioned files never change under their name; anything else is revalidated. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'public, no-cache';

/**
 * The bundled pages' scripts, style sheets, fonts and images under /web/ (see web/build.ts), with
 * their precompressed .br/.gz siblings sent to clients that accept them.
 */
export async function webAssetRoutes(app: FastifyInstance, options: { readonly dir?: string } = {}): Promise<void> {
  const root = options.dir ?? PUBLIC_DIR;
  await app.register(fastifyStatic, {
    root,
    prefix: PUBLIC_PREFIX,
    preCompressed: true,
    index: false,
    list: false,
    cacheControl: false,
    decorateReply: false,
    // The build's table of contents is for the server, not for browsers.
    allowedPath: (pathName) => pathName !== '/assets.json',
    setHeaders: (response, file) => {
      response.setHeader('Cache-Control', isImmutable(path.relative(root, file)) ? IMMUTABLE : REVALIDATE);
      // The same URL is sent as .br, .gz or plain: shared caches must key on what the client accepts.
      response.setHeader('Vary', 'Accept-Encoding');
    },
  });
}
