import { CONTEXT_2 } from './manifest-v2.js';
import { CONTEXT_3 } from './manifest-v3.js';

export interface Negotiated {
  readonly version: 2 | 3;
  readonly contentType: string;
}

interface MediaRange {
  readonly type: string;
  readonly profile: string | undefined;
  readonly q: number;
}

function parseAccept(accept: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  // Commas inside quoted profiles are not expected (profiles are URIs); split on commas outside quotes anyway.
  for (const part of accept.match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim());
    let profile: string | undefined;
    let q = 1;
    for (const param of params) {
      const eq = param.indexOf('=');
      if (eq === -1) continue;
      const name = param.slice(0, eq).trim().toLowerCase();
      const value = param.slice(eq + 1).trim().replace(/^"|"$/g, '');
      if (name === 'profile') profile = value;
      else if (name === 'q') q = Number(value) || 0;
    }
    if (q > 0 && type) ranges.push({ type: type.toLowerCase(), profile, q });
  }
  return ranges;
}

const versionOf = (profile: string | undefined): 2 | 3 | undefined =>
  profile === undefined ? undefined : profile.includes('/presentation/2/') ? 2 : profile.includes('/presentation/3/') ? 3 : undefined;

export const ldJson = (version: 2 | 3): string => `application/ld+json;profile="${version === 2 ? CONTEXT_2 : CONTEXT_3}"`;

/**
 * Which Presentation version and media type to answer with. The version comes from the path when
 * it names one (`fixed`), else from a JSON-LD profile in Accept (highest q wins, 3.0 by default).
 * The media type is JSON-LD with the version's profile, unless the client asks for plain JSON (or,
 * in 2.1, asks for neither, as 2.1 prescribes application/json by default).
 */
export function negotiate(accept: string | undefined, fixed?: 2 | 3): Negotiated {
  const ranges = parseAccept(accept ?? '');
  let version: 2 | 3 = fixed ?? 3;
  if (fixed === undefined) {
    let best = 0;
    for (const r of ranges) {
      const v = r.type === 'application/ld+json' ? versionOf(r.profile) : undefined;
      if (v !== undefined && (r.q > best || (r.q === best && v === 3))) {
        best = r.q;
        version = v;
      }
    }
  }
  const q = (type: string): number => Math.max(0, ...ranges.filter((r) => r.type === type).map((r) => r.q));
  const ld = q('application/ld+json');
  const json = q('application/json');
  let contentType: string;
  if (ld > 0 && ld >= json) contentType = ldJson(version);
  else if (json > 0) contentType = 'application/json';
  else contentType = version === 3 ? ldJson(3) : 'application/json';
  return { version, contentType };
}
