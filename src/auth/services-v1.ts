import type { AccessPolicy, AccessProfile } from './policy.js';
import { accessUrl, AUTH2_CONTEXT, logoutUrl } from './services.js';

/**
 * IIIF Authentication API 1.0 (https://iiif.io/api/auth/1.0/) service descriptions and token
 * service responses, beside Auth 2.0 (services.ts) for the viewers that speak 1.0 only (Mirador 4.0,
 * Universal Viewer 4.4). The 1.0 access (cookie) service is the 2.0 access page itself: both open it
 * in a window with `?origin=`, both expect it to set the session cookie and close itself.
 */
export const AUTH1_CONTEXT = 'http://iiif.io/api/auth/1/context.json';
export const AUTH1_PREFIX = '/iiif/auth/1';
const PROFILE_BASE = 'http://iiif.io/api/auth/1';

type Json = Record<string, unknown>;

/** § 2.1.1 Access Cookie Service texts: `label` always; the active profiles also say what happens and what failure means. */
const TEXTS: Readonly<Record<AccessProfile, Json>> = {
  login: {
    label: 'Log in to see this image',
    header: 'This image is restricted',
    description: 'Log in with your account to see it in full.',
    confirmLabel: 'Log in',
    failureHeader: 'Not logged in',
    failureDescription: 'The login did not succeed or was cancelled; the image stays restricted.',
  },
  clickthrough: {
    label: 'Accept the terms of use to see this image',
    header: 'Terms of use',
    description: 'This image is shown once you accept its terms of use.',
    confirmLabel: 'Accept the terms',
    failureHeader: 'Terms not accepted',
    failureDescription: 'The image is shown only once its terms of use are accepted.',
  },
  kiosk: { label: 'Available in the reading room', failureHeader: 'Not in the reading room', failureDescription: 'These images are shown on the reading room’s computers only.' },
  external: { label: 'Sign in through your institution', failureHeader: 'Not signed in', failureDescription: 'Sign in through your institution’s single sign-on, then reload.' },
};

export const tokenUrl1 = (base: string, profile: AccessProfile): string => `${base}${AUTH1_PREFIX}/token/${profile}`;

/**
 * The services protecting an image in Auth 1.0 form, for info.json (2.1 and 3.0) and manifests:
 * the access cookie service with its token service (§ 2.2) and, for sessions one can end, its
 * logout service (§ 2.3) nested. None for an open image.
 *
 * In a 2.1 document they are written as the 1.0 spec shows them (`@context` in the service). In a
 * 3.0 document (Image API 3.0 § 5.7, Presentation API 3.0 § 3.2 `service`) each has the `@type`
 * Presentation 3.0 defines for it (AuthCookieService1, AuthTokenService1, AuthLogoutService1) and
 * no `@context`: the 1.0 context goes in the document's own list (contexts3).
 */
export function authServices1(base: string, policy: AccessPolicy, version: 2 | 3 = 2): Json[] {
  if (policy.access === 'open') return [];
  const { profile } = policy;
  const typed = (type: string): Json => (version === 3 ? { '@type': type } : {});
  const nested: Json[] = [{ '@id': tokenUrl1(base, profile), ...typed('AuthTokenService1'), profile: `${PROFILE_BASE}/token` }];
  if (profile === 'login' || profile === 'clickthrough') nested.push({ '@id': logoutUrl(base), ...typed('AuthLogoutService1'), profile: `${PROFILE_BASE}/logout`, label: 'Log out' });
  return [
    {
      ...(version === 2 ? { '@context': AUTH1_CONTEXT } : {}),
      '@id': accessUrl(base, profile),
      ...typed('AuthCookieService1'),
      profile: `${PROFILE_BASE}/${profile}`,
      ...TEXTS[profile],
      service: nested,
    },
  ];
}

/**
 * The `@context` of a 3.0 document (info.json or manifest) that embeds auth services: the Auth 2.0
 * and 1.0 contexts before the document's own, as Auth 2.0 and Presentation 3.0 ask.
 */
export const contexts3 = (own: string): string[] => [AUTH2_CONTEXT, AUTH1_CONTEXT, own];

/** § 2.2.6 Access Token Error Conditions. */
export type TokenError1 = 'invalidRequest' | 'missingCredentials' | 'invalidCredentials' | 'invalidOrigin' | 'unavailable';

/** The HTTP status of an error answered as JSON (without messageId; § 2.2.6 "for example 400, 401 or 503"); the postMessage page is always 200. */
export const TOKEN_ERROR_STATUS: Readonly<Record<TokenError1, number>> = {
  invalidRequest: 400,
  missingCredentials: 401,
  invalidCredentials: 401,
  invalidOrigin: 403,
  unavailable: 503,
};

const ERROR_TEXTS: Readonly<Record<TokenError1, string>> = {
  invalidRequest: 'The request lacks a valid origin.',
  missingCredentials: 'No access has been granted yet: open the access service first.',
  invalidCredentials: 'The session has expired or cannot be read: open the access service again.',
  invalidOrigin: 'Access was not granted to this origin: open the access service from it first.',
  unavailable: 'Access tokens cannot be issued now.',
};

export function tokenError1(error: TokenError1, messageId: string | undefined): Json {
  return { error, description: ERROR_TEXTS[error], ...(messageId !== undefined ? { messageId } : {}) };
}

/** § 2.2.2 The access token response; `messageId` echoed when the client asked through postMessage (§ 2.2.4). */
export function accessToken1(accessToken: string, expiresIn: number, messageId: string | undefined): Json {
  return { accessToken, expiresIn, ...(messageId !== undefined ? { messageId } : {}) };
}
