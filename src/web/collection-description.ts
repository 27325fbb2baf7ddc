import type { CollectionMetadata, LanguageMap } from '../catalog/metadata.js';
import { firstValue } from '../presentation/model.js';
import { html, type Html } from './html.js';

/** The values of a language map in one language (English, else no language, else the first). */
const values = (map: LanguageMap): string[] => map.en ?? map.none ?? Object.values(map)[0] ?? [];

/**
 * What a collection.yml says about a collection, under its heading on the home page: the summary,
 * the metadata as a description list, the attribution, rights, homepage and provider links.
 * Nothing when the collection has no description.
 */
export function collectionDescription(metadata: CollectionMetadata): Html | '' {
  const { summary, requiredStatement, rights, homepage, provider } = metadata;
  const entries = [...(metadata.metadata ?? []), ...(requiredStatement ? [requiredStatement] : [])];
  const links = [
    ...(homepage ?? []).map((h) => ({ href: h.id, text: h.label ? firstValue(h.label) : 'Website' })),
    ...(provider ?? []).map((p) => ({ href: p.homepage?.[0]?.id ?? p.id, text: firstValue(p.label) })),
    ...(rights ? [{ href: rights, text: 'Rights' }] : []),
  ];
  if (!summary && entries.length === 0 && links.length === 0) return '';
  return html`<section class="collection-description" aria-label="About this collection">
${summary ? values(summary).map((text) => html`<p class="collection-summary">${text}</p>`) : ''}
${entries.length > 0 ? html`<dl class="collection-metadata">${entries.map((e) => html`<dt>${firstValue(e.label)}</dt><dd>${values(e.value).join('; ')}</dd>`)}</dl>` : ''}
${links.length > 0 ? html`<ul class="collection-links">${links.map((l) => html`<li><a href="${l.href}">${l.text}</a></li>`)}</ul>` : ''}
</section>`;
}
