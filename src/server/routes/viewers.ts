import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebAssets } from '../../web/assets.js';
import type { Html } from '../../web/html.js';
import { messagePage } from '../../web/message-page.js';
import { html } from '../../web/html.js';
import { VIEWERS, viewerFormPage, viewerPage, type ViewerName } from '../../web/viewer-page.js';
import type { PublicBaseUrl } from '../base-url.js';

export interface ViewerOptions {
  readonly publicUrl: PublicBaseUrl;
  readonly assets: WebAssets | undefined;
}

/** An http(s) URL, relative ones resolved against the server's base; undefined otherwise. */
function absoluteUrl(value: string, base: string): string | undefined {
  try {
    const url = new URL(value, `${base}/`);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Longest search Mirador is asked to run: the search service's own limit on `q`. */
const MAX_SEARCH_LENGTH = 500;

/** Where Mirador starts: a canvas (an http(s) URL) and a search; a string saying what is wrong otherwise. */
function miradorStart(query: Record<string, unknown>, base: string): { canvas?: string; search?: string } | string {
  const { canvas, search } = query;
  const out: { canvas?: string; search?: string } = {};
  if (typeof canvas === 'string' && canvas.trim() !== '') {
    const url = absoluteUrl(canvas.trim(), base);
    if (!url) return `canvas: '${canvas}' is not an http(s) URL: give the canvas's id.`;
    out.canvas = url;
  }
  if (typeof search === 'string' && search.trim() !== '') {
    if (search.length > MAX_SEARCH_LENGTH) return `search: ${search.length} characters; at most ${MAX_SEARCH_LENGTH}.`;
    out.search = search.trim();
  }
  return out;
}

/**
 * The viewers, served from this server's own bundles (no CDN):
 *
 *   /viewer/mirador?manifest=URL        Mirador 4 (&canvas=URL opens at that canvas, &search=words runs
 *                                       that search in its search panel)
 *   /viewer/uv?manifest=URL             Universal Viewer 4
 *   /viewer/openseadragon?image=URL     OpenSeadragon deep zoom of one image (its info.json)
 *
 * Without the parameter a form asks for it; with one that is not an http(s) URL, the same form
 * says so (400).
 */
export async function viewerRoutes(app: FastifyInstance, options: ViewerOptions): Promise<void> {
  const send = (reply: FastifyReply, page: Html, status = 200): void => {
    reply.code(status).header('Cache-Control', 'no-cache').type('text/html; charset=utf-8').send(page.value);
  };

  for (const viewer of Object.keys(VIEWERS) as ViewerName[]) {
    app.get(`/viewer/${viewer}`, async (request: FastifyRequest, reply) => {
      const base = options.publicUrl.of(request, reply);
      const { parameter, what } = VIEWERS[viewer];
      if (!options.assets) {
        const body = html`<p>The viewers are not built on this server. Run <code>npm run build</code> (it bundles them into <code>dist/public</code>) and restart.</p>`;
        send(reply, messagePage({ base, assets: undefined, title: 'Viewers not built', body }), 503);
        return reply;
      }
      const value = (request.query as Record<string, unknown>)[parameter];
      if (typeof value !== 'string' || value.trim() === '') {
        send(reply, viewerFormPage({ base, assets: options.assets, viewer, problem: undefined }));
        return reply;
      }
      const target = absoluteUrl(value.trim(), base);
      if (!target) {
        send(reply, viewerFormPage({ base, assets: options.assets, viewer, problem: `'${value}' is not an http(s) URL: give the ${what}.` }), 400);
        return reply;
      }
      const at = viewer === 'mirador' ? miradorStart(request.query as Record<string, unknown>, base) : {};
      if (typeof at === 'string') {
        send(reply, viewerFormPage({ base, assets: options.assets, viewer, problem: at }), 400);
        return reply;
      }
      send(reply, viewerPage({ base, assets: options.assets, viewer, target, ...at }));
      return reply;
    });
  }
}
