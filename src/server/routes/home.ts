import type { FastifyInstance } from 'fastify';
import { VERSION } from '../../version.js';

/** A minimal landing page: what this server is and where its APIs live. */
export async function homeRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', async (_request, reply) => {
    reply.type('text/html; charset=utf-8').send(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vitrine</title></head>
<body>
<main>
<h1>Vitrine ${VERSION}</h1>
<p>A IIIF server for archives, libraries and museums.</p>
<ul>
<li>Image API 3.0: <code>/iiif/3/{identifier}/info.json</code></li>
<li>Image API 2.1: <code>/iiif/2/{identifier}/info.json</code></li>
<li>Presentation API 3.0 (with <code>--data</code>): <a href="/iiif/collection/top">/iiif/collection/top</a>, <code>/iiif/manifest/{object id}</code></li>
<li>Presentation API 2.1: <a href="/iiif/presentation/2/collection/top">/iiif/presentation/2/collection/top</a>, <code>/iiif/presentation/2/manifest/{object id}</code></li>
<li><a href="/health">Health</a></li>
</ul>
</main>
</body>
</html>
`);
  });
}
