/**
 * The message for a URL Fastify refuses before routing because its percent-encoding is malformed
 * (`%zz`, a lone `%`, bytes that are not UTF-8): Fastify's own quotes the whole URL, this one
 * quotes the path segment that is wrong, as every other 400 names its bad part.
 */
export function malformedUrlMessage(url: string): string {
  const query = url.indexOf('?');
  const segments = (query === -1 ? url : url.slice(0, query)).split('/');
  const bad = segments.find((segment) => !decodes(segment));
  if (bad === undefined) return `'${url}': malformed percent-encoding`;
  return `'${bad}': malformed percent-encoding (expected UTF-8 bytes as %XX) in '${url}'`;
}

function decodes(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}
