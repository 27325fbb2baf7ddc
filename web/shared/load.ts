/** Why a document could not be shown, in words a person can act on. */
export class LoadError extends Error {}

/** Fetches a JSON document, or throws a LoadError saying what went wrong. */
export async function fetchJson(url: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch {
    throw new LoadError(`${url} could not be reached: the server is down, or it does not let other sites read it (CORS).`);
  }
  if (!response.ok) {
    // The first line of a plain-text error body, without the status it may repeat ("404 no object …").
    const text = (await response.text().catch(() => '')).split('\n')[0]!.trim().replace(/^\d{3}\s+/, '').slice(0, 300);
    throw new LoadError(`${url} answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${text ? `: ${text}` : '.'}`);
  }
  try {
    return await response.json();
  } catch {
    throw new LoadError(`${url} is not JSON.`);
  }
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The text of a Presentation 3.0 language map or a 2.1 label (string, list, or @value objects). */
function labelText(label: unknown): string {
  if (typeof label === 'string') return label;
  if (Array.isArray(label)) return labelText(label[0]);
  if (isObject(label)) {
    if (typeof label['@value'] === 'string') return label['@value'];
    const values = (label.en ?? label.none ?? Object.values(label)[0]) as unknown;
    return labelText(values);
  }
  return '';
}

/** Checks that a document is a IIIF manifest or collection (3.0 or 2.1); returns its label. */
export function iiifLabel(document: unknown, url: string): string {
  const type = isObject(document) ? (document.type ?? document['@type']) : undefined;
  if (!isObject(document) || !['Manifest', 'Collection', 'sc:Manifest', 'sc:Collection'].includes(String(type))) {
    throw new LoadError(`${url} is not a IIIF manifest or collection.`);
  }
  return labelText(document.label);
}
