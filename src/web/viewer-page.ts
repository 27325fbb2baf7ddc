import { PUBLIC_PREFIX, type WebAssets } from './assets.js';
import { html, type Html } from './html.js';
import { layout } from './layout.js';
import { WebLinks } from './links.js';
import { messagePage } from './message-page.js';

export type ViewerName = 'mirador' | 'uv' | 'openseadragon';

interface ViewerKind {
  readonly title: string;
  /** The query parameter naming what to show. */
  readonly parameter: 'manifest' | 'image';
  /** What that parameter is, for a person. */
  readonly what: string;
}

export const VIEWERS: Record<ViewerName, ViewerKind> = {
  mirador: { title: 'Mirador', parameter: 'manifest', what: 'IIIF manifest URL' },
  uv: { title: 'Universal Viewer', parameter: 'manifest', what: 'IIIF manifest URL' },
  openseadragon: { title: 'OpenSeadragon', parameter: 'image', what: 'Image API info.json URL' },
};

/** The page of one viewer showing `target`; the script reads its settings from data attributes. */
export function viewerPage(options: { base: string; assets: WebAssets; viewer: ViewerName; target: string; canvas?: string; search?: string }): Html {
  const { base, assets, viewer, target } = options;
  const kind = VIEWERS[viewer];
  const links = new WebLinks(base);
  const asset = (file: string): string => `${base}${PUBLIC_PREFIX}${file}`;
  const others =
    kind.parameter === 'manifest'
      ? [
          viewer === 'mirador' ? undefined : html`<a href="${links.mirador(target)}">Mirador</a>`,
          viewer === 'uv' ? undefined : html`<a href="${links.universalViewer(target)}">Universal Viewer</a>`,
          html`<a href="${target}" type="application/ld+json">Manifest</a>`,
        ]
      : [html`<a href="${target}" type="application/ld+json">info.json</a>`];
  const settings =
    viewer === 'uv'
      ? html` data-uv-script="${asset(assets.uvScript)}"`
      : viewer === 'openseadragon'
        ? html` data-images="${asset(assets.openSeadragonImages)}"`
        : html`${options.canvas ? html` data-canvas="${options.canvas}"` : ''}${options.search ? html` data-search="${options.search}"` : ''}`;
  return layout({
    title: `${kind.title} — Vitrine`,
    base,
    assets: assets.page(viewer),
    styles: viewer === 'uv' ? [assets.uvStyle] : [],
    bodyClass: `viewer-page viewer-${viewer}`,
    banner: html`<nav class="viewer-nav" aria-label="Other views"><span class="viewer-name">${kind.title}</span>
<span class="viewer-others">Open in: ${others.filter((o) => o !== undefined).map((o, i) => html`${i > 0 ? ' · ' : ''}${o}`)}</span></nav>`,
    main: html`<h1 class="visually-hidden" id="viewer-title">${kind.title}</h1>
<section id="viewer" class="viewer" aria-labelledby="viewer-title" data-viewer="${viewer}" data-source="${target}"${settings}></section>
<div id="viewer-status" class="viewer-status" role="status">
<noscript><p>This viewer needs JavaScript. The ${kind.what} is <a href="${target}">${target}</a>.</p></noscript>
</div>`,
    footer: false,
  });
}

/** Where a viewer is opened without (or with an unusable) manifest or image: a form to give one. */
export function viewerFormPage(options: { base: string; assets: WebAssets | undefined; viewer: ViewerName; problem: string | undefined }): Html {
  const kind = VIEWERS[options.viewer];
  return messagePage({
    base: options.base,
    assets: options.assets?.page('home'),
    title: `Open in ${kind.title}`,
    body: html`${options.problem ? html`<p class="error" role="alert">${options.problem}</p>` : ''}
<form class="open-form" method="get" action="${options.base}/viewer/${options.viewer}">
<label for="source">${kind.what}</label>
<input id="source" name="${kind.parameter}" type="url" required placeholder="https://…">
<button type="submit">Open</button>
</form>`,
  });
}
