import type { PageAssets } from './assets.js';
import { html, type Html } from './html.js';
import { layout } from './layout.js';

/** A page that only says something: a 404, a missing parameter, what to do next. */
export function messagePage(options: { base: string; assets: PageAssets | undefined; title: string; body: Html }): Html {
  return layout({
    title: `${options.title} — Vitrine`,
    base: options.base,
    assets: options.assets,
    bodyClass: 'message',
    main: html`<h1>${options.title}</h1>
${options.body}
<p><a href="${options.base}/">Back to the home page</a></p>`,
  });
}
