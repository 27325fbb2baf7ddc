/**
 * How text and queries become search tokens: Unicode compatibility forms, diacritics removed,
 * lower case, split on anything that is not a letter or a digit. The same function feeds the index
 * and reads queries, so an OCR word and a typed query always agree (`Lyon,` and `lyon`, `Émile`
 * and `emile`); what SQLite's unicode61 tokenizer (remove_diacritics 2) does, done once here so
 * positions can be mapped back to words.
 */
export function tokens(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0);
}

/** What a `q` parameter asks for. */
export interface SearchQuery {
  /** Normalized tokens, in order. */
  readonly terms: readonly string[];
  /** In double quotes: the terms must follow each other; else every term must be on the page, each occurrence a hit. */
  readonly phrase: boolean;
}

/** A `q` parameter read as a query (undefined: nothing searchable in it). */
export function parseQuery(q: string): SearchQuery | undefined {
  const trimmed = q.trim();
  const phrase = trimmed.length > 1 && trimmed.startsWith('"') && trimmed.endsWith('"');
  const terms = tokens(phrase ? trimmed.slice(1, -1) : trimmed);
  if (terms.length === 0) return undefined;
  return { terms, phrase: phrase || terms.length === 1 };
}
