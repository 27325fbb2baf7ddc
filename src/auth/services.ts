import type { LanguageMap } from '../catalog/metadata.js';
import type { AccessPolicy, AccessProfile } from './policy.js';

/**
 * IIIF Authorization Flow API 2.0 (https://iiif.io/api/auth/2.0/) service descriptions and
 * responses. Attached to info.json and manifests through one hook per version (authServices2);
 * Auth 1.0 would add its own hook beside it.
 */
export const AUTH2_CONTEXT = 'http://iiif.io/api/auth/2/context.json';
export const AUTH2_PREFIX = '/iiif/auth/2';

type Json = Record<string, unknown>;
const en = (text: string): LanguageMap => ({ en: [text] });

/** The spec's access service profile (§ Access Service, `profile`) for each of ours. */
const SPEC_PROFILE: Readonly<Record<AccessProfile, 'active' | 'kiosk' | 'external'>> = {
  login: 'active',
  clickthrough: 'active',
  kiosk: 'kiosk',
  external: 'external',
};

/** The texts of each access service (active services require `label`; § Access Service). */
const TEXTS: Readonly<Record<AccessProfile, { label: string; heading?: string; note?: string; confirmLabel?: string }>> = {
  login: { label: 'Log in to see this image', heading: 'This image is restricted', note: 'Log in with your account to see it in full.', confirmLabel: 'Log in' },
  clickthrough: { label: 'Accept the terms of use to see this image', heading: 'Terms of use', note: 'This image is shown once you accept its terms of use.', confirmLabel: 'Accept the terms' },
  kiosk: { label: 'Available in the reading room' },
  external: { label: 'Sign in through your institution' },
};

export const probeUrl = (base: string, identifier: string): string => `${base}${AUTH2_PREFIX}/probe/${encodeURIComponent(identifier)}`;
export const accessUrl = (base: string, profile: AccessProfile): string => `${base}${AUTH2_PREFIX}/access/${profile}`;
export const tokenUrl = (base: string, profile: AccessProfile): string => `${base}${AUTH2_PREFIX}/token/${profile}`;
export const logoutUrl = (base: string): string => `${base}${AUTH2_PREFIX}/logout`;

/** § Access Service: AuthAccessService2 with its token service and logout service nested. */
export function accessService2(base: string, profile: AccessProfile): Json {
  const texts = TEXTS[profile];
  const nested: Json[] = [{ id: tokenUrl(base, profile), type: 'AuthAccessTokenService2' }];
  if (profile === 'login' || profile === 'clickthrough') nested.push({ id: logoutUrl(base), type: 'AuthLogoutService2', label: en('Log out') });
  return {
    id: accessUrl(base, profile),
    type: 'AuthAccessService2',
    profile: SPEC_PROFILE[profile],
    label: en(texts.label),
    ...(texts.heading ? { heading: en(texts.heading) } : {}),
    ...(texts.note ? { note: en(texts.note) } : {}),
    ...(texts.confirmLabel ? { confirmLabel: en(texts.confirmLabel) } : {}),
    service: nested,
  };
}

/**
 * A `profile` for the probe, which Auth 2.0 does not define but Image API 3.0 asks of every service
 * in an info.json ("SHOULD have a profile"). Mirador 4.0 needs it: its token lookup calls
 * `getProfile().match(…)` on every service of an info.json and stops on one without a profile, so
 * a profile-less probe kept it from ever showing the Auth 1.0 login. Not an auth/1 URI, so Mirador
 * does not take it for a 1.0 service.
 */
export const PROBE_PROFILE = 'AuthProbeService2';

/**
 * The services protecting an image, for its info.json or its annotation body in a manifest
 * (§ Probe Service: AuthProbeService2 with the access service nested): none for an open image.
 */
export function authServices2(base: string, identifier: string, policy: AccessPolicy): Json[] {
  if (policy.access === 'open') return [];
  return [{ id: probeUrl(base, identifier), type: 'AuthProbeService2', profile: PROBE_PROFILE, service: [accessService2(base, policy.profile)] }];
}

/** § Probe Service response: AuthProbeResult2; `substitute` points to what may be seen instead (the degraded size). */
export function probeResult2(status: 200 | 401, substitute?: Json): Json {
  return {
    '@context': AUTH2_CONTEXT,
    type: 'AuthProbeResult2',
    status,
    ...(substitute ? { substitute: [substitute] } : {}),
    ...(status === 401
      ? {
          heading: en(substitute ? 'A smaller version is shown' : 'This image is restricted'),
          note: en(substitute ? 'Gain access to see this image in full.' : 'Gain access to see this image.'),
        }
      : {}),
  };
}

/** § Access Token Service errors: the `profile` values of AuthAccessTokenError2. */
export type TokenErrorProfile = 'invalidRequest' | 'invalidOrigin' | 'missingAspect' | 'expiredAspect' | 'invalidAspect' | 'unavailable';

const ERROR_TEXTS: Readonly<Record<TokenErrorProfile, string>> = {
  invalidRequest: 'The request lacks messageId or a valid origin.',
  invalidOrigin: 'Access was not granted to this origin: open the access service from it first.',
  missingAspect: 'No access has been granted yet: open the access service first.',
  expiredAspect: 'The session has expired: open the access service again.',
  invalidAspect: 'The session cannot be read: open the access service again.',
  unavailable: 'Access tokens cannot be issued now.',
};

export function tokenError2(profile: TokenErrorProfile, messageId: string | undefined): Json {
  return {
    '@context': AUTH2_CONTEXT,
    type: 'AuthAccessTokenError2',
    profile,
    heading: en('No access'),
    note: en(ERROR_TEXTS[profile]),
    ...(messageId !== undefined ? { messageId } : {}),
  };
}

/** § Access Token Service response: AuthAccessToken2, echoing messageId. */
export function accessToken2(accessToken: string, expiresIn: number, messageId: string): Json {
  return { '@context': AUTH2_CONTEXT, type: 'AuthAccessToken2', accessToken, expiresIn, messageId };
}
