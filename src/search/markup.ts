/**
 * A small event scanner for the two markup formats OCR comes in: ALTO (XML) and hOCR (XHTML or
 * plain HTML, which an XML parser would reject for its `<meta charset=…>`). It reports start tags
 * with their attributes, end tags and decoded text, and skips comments, CDATA markers, processing
 * instructions, doctypes and script/style content. It builds no tree: an ALTO file of a newspaper
 * page (tens of thousands of words) is read in one pass. Vitrine has no XML parser among its
 * runtime dependencies; what the parsers need from the markup is this much.
 */

export interface MarkupHandler {
  open(name: string, attributes: ReadonlyMap<string, string>, selfClosing: boolean): void;
  close(name: string): void;
  text(text: string): void;
}

/** Elements of HTML that have no end tag. */
const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
/** Elements whose content is not markup. */
const RAW = new Set(['script', 'style']);

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Character and the predefined entity references decoded; unknown ones left as written. */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);/g, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[ref] ?? whole;
  });
}

/** An element's local name (namespace prefix dropped), lower case: `alto:String` → `string`. */
const localName = (name: string): string => name.slice(name.indexOf(':') + 1).toLowerCase();

const ATTRIBUTE = /([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

function attributesOf(source: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const m of source.matchAll(ATTRIBUTE)) attributes.set(m[1]!.toLowerCase(), decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  return attributes;
}

/** The end of a tag that starts at `from` (the index of its '>'), skipping quoted attribute values; -1 if unterminated. */
function tagEnd(markup: string, from: number): number {
  let quote = '';
  for (let i = from; i < markup.length; i++) {
    const c = markup[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '>') {
      return i;
    }
  }
  return -1;
}

/**
 * Scans `markup`, calling the handler for each tag and text run. Element names are reported as
 * local names in lower case; attribute names in lower case. Throws on a tag or comment that never
 * ends (a truncated file).
 */
export function scanMarkup(markup: string, handler: MarkupHandler): void {
  let at = 0;
  const emitText = (end: number): void => {
    if (end > at) handler.text(decodeEntities(markup.slice(at, end)));
  };
  while (at < markup.length) {
    const lt = markup.indexOf('<', at);
    if (lt === -1) {
      emitText(markup.length);
      return;
    }
    emitText(lt);
    const rest = markup.slice(lt, lt + 9);
    const skipTo = (terminator: string, what: string): void => {
      const end = markup.indexOf(terminator, lt);
      if (end === -1) throw new Error(`unterminated ${what} at character ${lt}`);
      at = end + terminator.length;
    };
    if (rest.startsWith('<!--')) {
      skipTo('-->', 'comment');
    } else if (rest.startsWith('<![CDATA[')) {
      const end = markup.indexOf(']]>', lt);
      if (end === -1) throw new Error(`unterminated CDATA section at character ${lt}`);
      handler.text(markup.slice(lt + 9, end));
      at = end + 3;
    } else if (rest.startsWith('<?')) {
      skipTo('?>', 'processing instruction');
    } else if (rest.startsWith('<!')) {
      // A doctype, with its internal subset if any.
      const bracket = markup.indexOf('[', lt);
      const close = markup.indexOf('>', lt);
      if (close === -1) throw new Error(`unterminated declaration at character ${lt}`);
      if (bracket !== -1 && bracket < close) skipTo(']>', 'doctype');
      else at = close + 1;
    } else if (rest.startsWith('</')) {
      const end = markup.indexOf('>', lt);
      if (end === -1) throw new Error(`unterminated end tag at character ${lt}`);
      handler.close(localName(markup.slice(lt + 2, end).trim()));
      at = end + 1;
    } else if (/^<[A-Za-z_]/.test(rest)) {
      const end = tagEnd(markup, lt + 1);
      if (end === -1) throw new Error(`unterminated tag at character ${lt}`);
      const body = markup.slice(lt + 1, end);
      const nameEnd = body.search(/[\s/]|$/);
      const name = localName(body.slice(0, nameEnd));
      const selfClosing = body.endsWith('/') || VOID.has(name);
      handler.open(name, attributesOf(body.slice(nameEnd).replace(/\/$/, '')), selfClosing);
      if (selfClosing) handler.close(name);
      at = end + 1;
      if (RAW.has(name) && !selfClosing) {
        const close = markup.toLowerCase().indexOf(`</${name}`, at);
        at = close === -1 ? markup.length : close;
      }
    } else {
      // A lone '<' in text (HTML allows it).
      handler.text('<');
      at = lt + 1;
    }
  }
}
