import { VERSION } from '../version.js';
import { PUBLIC_PREFIX, type PageAssets } from './assets.js';
import { html, type Html } from './html.js';

export interface LayoutOptions {
  readonly title: string;
  /** The server's public base URL: every link and asset is under it (a proxy may add a path). */
  readonly base: string;
  /** The page's bundle; undefined when the pages were not built (the page still works, unstyled). */
  readonly assets: PageAssets | undefined;
  /** More style sheets, as paths under PUBLIC_PREFIX. */
  readonly styles?: readonly string[];
  readonly bodyClass: string;
  /** Content of the banner after the site name (a search form, the viewer's links). */
  readonly banner?: Html;
  readonly main: Html;
  /** Whether to show the footer (the viewers use the whole height). */
  readonly footer?: boolean;
}

/** The shell every page shares: landmarks, a skip link, the site name back to the home page. */
export function layout(options: LayoutOptions): Html {
  const asset = (file: string): string => `${options.base}${PUBLIC_PREFIX}${file}`;
  const styles = [...(options.styles ?? []), ...(options.assets?.styles ?? [])];
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title}</title>
<link rel="icon" href="data:,">
${styles.map((s) => html`<link rel="stylesheet" href="${asset(s)}">\n`)}${options.assets ? html`<script type="module" src="${asset(options.assets.script)}"></script>` : ''}
</head>
<body class="${options.bodyClass}">
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header">
<a class="site-name" href="${options.base}/">Vitrine</a>
${options.banner}
</header>
<main id="main" tabindex="-1">
${options.main}
</main>
${options.footer === false ? '' : footer(options.base)}
</body>
</html>
`;
}

function footer(base: string): Html {
  return html`<footer class="site-footer">
<p>Vitrine ${VERSION} ·
Image API <code>/iiif/3/{identifier}/info.json</code>, <code>/iiif/2/…</code> ·
Presentation API (with <code>--data</code>) <a href="${base}/iiif/collection/top">top collection</a>,
<a href="${base}/iiif/presentation/2/collection/top">2.1</a> ·
<a href="${base}/health">health</a></p>
</footer>`;
}
