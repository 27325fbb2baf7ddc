import type { AccessPolicy, AccessProfile } from './policy.js';

/**
 * What a request proves about its sender, whichever way it came (session cookie, bearer token,
 * the client's address, a header from an SSO proxy): see credentials.ts.
 */
export interface Credentials {
  /** A user of users.json who logged in. */
  readonly user?: string | undefined;
  /** The terms of a clickthrough were accepted in this session. */
  readonly clickthrough?: boolean | undefined;
  /** The request comes from a trusted IP range (the reading room). */
  readonly kiosk?: boolean | undefined;
  /** The user an SSO reverse proxy vouches for. */
  readonly external?: string | undefined;
}

export const ANONYMOUS: Credentials = {};

/** The gate's answer for one image: all of it, at most `maxSize` px on its longest side, or nothing. */
export type Decision = { readonly kind: 'allow' } | { readonly kind: 'degrade'; readonly maxSize: number } | { readonly kind: 'deny' };

const ALLOW: Decision = { kind: 'allow' };
const DENY: Decision = { kind: 'deny' };

/** Whether credentials meet a profile: each profile is met by its own proof only. */
export function satisfies(profile: AccessProfile, credentials: Credentials): boolean {
  switch (profile) {
    case 'login':
      return credentials.user !== undefined;
    case 'clickthrough':
      return credentials.clickthrough === true;
    case 'kiosk':
      return credentials.kiosk === true;
    case 'external':
      return credentials.external !== undefined;
  }
}

/**
 * The one gate before any pixel (DESIGN.md): a pure function of the object's policy and the
 * request's credentials, called once where an image is opened for a request (ImageService.withSource).
 */
export function decide(policy: AccessPolicy, credentials: Credentials): Decision {
  if (policy.access === 'open' || satisfies(policy.profile, credentials)) return ALLOW;
  return policy.access === 'degraded' ? { kind: 'degrade', maxSize: policy.degradedSize } : DENY;
}
