import Negotiator from 'negotiator';
import { CONTEXTS } from '../image-api/info.js';
import type { ApiVersion } from '../image-api/request.js';
import { CONTEXT_2 } from '../presentation/manifest-v2.js';
import { CONTEXT_3 } from '../presentation/manifest-v3.js';

/**
 * Content negotiation for every JSON document the server sends (info.json, manifests,
 * collections), in one place, by `negotiator`: highest q first, then the most specific range (a
 * JSON-LD profile beats plain `application/ld+json`, which beats `*\/*`), then the client's order,
 * then ours. Offers are listed in the server's order of preference.
 */

const JSON_TYPE = 'application/json';
const ldJson = (context: string): string => `application/ld+json;profile="${context}"`;

/** The offer the client prefers; the first (the server's default) when it accepts none of them. */
export function preferredMediaType<T extends string>(accept: string | undefined, offers: readonly [T, ...T[]]): T {
  const best = new Negotiator({ headers: { accept } }).mediaType(offers) as T | undefined;
  return best ?? offers[0];
}

/**
 * info.json: JSON-LD with the version's context as profile, or plain JSON. 3.0 defaults to
 * JSON-LD; 2.1 to plain JSON, as each version prescribes.
 */
export function infoJsonType(accept: string | undefined, version: ApiVersion): string {
  const ld = ldJson(CONTEXTS[version]);
  return preferredMediaType(accept, version === 3 ? [ld, JSON_TYPE] : [JSON_TYPE, ld]);
}

export interface PresentationVariant {
  readonly version: 2 | 3;
  readonly contentType: string;
}

const LD_3: PresentationVariant = { version: 3, contentType: ldJson(CONTEXT_3) };
const LD_2: PresentationVariant = { version: 2, contentType: ldJson(CONTEXT_2) };
const VARIANTS: Readonly<Record<'any' | 2 | 3, readonly [PresentationVariant, ...PresentationVariant[]]>> = {
  // Plain JSON names no version: it gets the default, 3.0.
  any: [LD_3, LD_2, { version: 3, contentType: JSON_TYPE }],
  3: [LD_3, { version: 3, contentType: JSON_TYPE }],
  // 2.1 prescribes application/json unless JSON-LD is asked for.
  2: [{ version: 2, contentType: JSON_TYPE }, LD_2],
};

/**
 * Which Presentation version and media type to answer with. The version comes from the path when
 * it names one (`fixed`), else from a JSON-LD profile in Accept (3.0 by default).
 */
export function presentationVariant(accept: string | undefined, fixed?: 2 | 3): PresentationVariant {
  const variants = VARIANTS[fixed ?? 'any'];
  const chosen = preferredMediaType(accept, variants.map((v) => v.contentType) as [string, ...string[]]);
  return variants.find((v) => v.contentType === chosen) ?? variants[0];
}
