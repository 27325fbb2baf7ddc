import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { normalizeOrigin, type AccessControl } from '../../auth/access-control.js';
import { degradedScale } from '../../auth/degrade.js';
import { decide, satisfies, type Credentials } from '../../auth/gate.js';
import { clickthroughPage, closingPage, loginPage, messagePage, tokenMessagePage } from '../../auth/pages.js';
import { ACCESS_PROFILES, type AccessProfile } from '../../auth/policy.js';
import { accessToken2, AUTH2_PREFIX, probeResult2, tokenError2, type TokenErrorProfile } from '../../auth/services.js';
import { sameText } from '../../auth/signed.js';
import { accessToken1, AUTH1_PREFIX, TOKEN_ERROR_STATUS, tokenError1, type TokenError1 } from '../../auth/services-v1.js';
import { badRequest, IiifError, notFound } from '../../image-api/errors.js';
import type { PublicBaseUrl } from '../base-url.js';
import type { ImageService } from '../image-service.js';

export interface AuthRouteOptions {
  readonly images: ImageService;
  readonly access: AccessControl;
  readonly publicUrl: PublicBaseUrl;
  readonly clickthroughTerms: string;
}

const CSRF_COOKIE = 'vitrine_csrf';

interface AccessForm {
  csrf?: string;
  origin?: string;
  username?: string;
  password?: string;
}

/**
 * The IIIF Authorization Flow 2.0 services (and the Auth 1.0 token service beside them): a probe per image, an access service per profile
 * (login and clickthrough forms with CSRF tokens, the login rate-limited; kiosk; external), the
 * access token services and logout. No answer here redirects anywhere a request names (no open
 * redirect); nothing here logs a password, a cookie or a token.
 */
export async function authRoutes(app: FastifyInstance, options: AuthRouteOptions): Promise<void> {
  const { images, access } = options;
  await app.register(formbody, { bodyLimit: 8192 });
  await app.register(rateLimit, { global: false });
  const base = (request: FastifyRequest, reply: FastifyReply): string => options.publicUrl.of(request, reply);
  const ownOrigin = (request: FastifyRequest, reply: FastifyReply): string => new URL(base(request, reply)).origin;
  // Only the token page may be framed (the client loads it in an iframe); the forms may not (clickjacking).
  const html = (reply: FastifyReply, status: number, body: string, frameable = false): FastifyReply => {
    if (!frameable) reply.header('X-Frame-Options', 'DENY');
    return reply.code(status).header('Cache-Control', 'no-store').type('text/html; charset=utf-8').send(body);
  };

  app.setErrorHandler((error, request, reply) => {
    const status = error instanceof IiifError ? error.status : ((error as { statusCode?: number }).statusCode ?? 500);
    if (status >= 500) request.log.error({ err: error, url: request.routeOptions.url }, 'auth request failed');
    reply.code(status).header('Cache-Control', 'no-store').type('text/plain; charset=utf-8').send(`${status} ${status < 500 ? (error as Error).message : 'internal error'}\n`);
  });

  // § Probe Service: HTTP 200 with the status the client would get for the image in `status`, and
  // for a degraded image a substitute at the size anyone may see.
  app.get(`${AUTH2_PREFIX}/probe/*`, async (request, reply) => {
    const rest = (request.params as { '*': string })['*'];
    if (!rest) throw notFound('no identifier given');
    const identifier = rest; // Fastify has decoded the wildcard once, as the Image API routes do.
    const policy = await images.policyOf(identifier);
    const decision = decide(policy, access.credentialsOf(request, ownOrigin(request, reply)));
    reply.header('Cache-Control', 'no-store').type('application/json');
    if (decision.kind === 'allow') return JSON.stringify(probeResult2(200));
    if (decision.kind === 'deny') return JSON.stringify(probeResult2(401));
    const image = await images.dimensions(identifier);
    const scale = degradedScale(image, decision.maxSize);
    const width = Math.max(1, Math.round(image.width * scale));
    const height = Math.max(1, Math.round(image.height * scale));
    const service = `${base(request, reply)}/iiif/3/${encodeURIComponent(identifier)}`;
    return JSON.stringify(
      probeResult2(401, { id: `${service}/full/${width},${height}/0/default.jpg`, type: 'Image', format: 'image/jpeg', width, height }),
    );
  });

  /** A fresh CSRF token: in a signed, HttpOnly, SameSite=Strict cookie and in the form (double submit). */
  function csrfFor(request: FastifyRequest, reply: FastifyReply): string {
    const token = randomBytes(24).toString('base64url');
    reply.setCookie(CSRF_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', path: `${AUTH2_PREFIX}/access`, signed: true });
    return token;
  }

  /** Whether a form's CSRF token is the one its cookie holds (constant time). */
  function csrfValid(request: FastifyRequest, form: AccessForm): boolean {
    const cookie = request.cookies[CSRF_COOKIE];
    if (!cookie || typeof form.csrf !== 'string') return false;
    const unsigned = request.unsignCookie(cookie);
    return unsigned.valid && unsigned.value !== null && sameText(unsigned.value, form.csrf);
  }

  /** The origin an access service is opened for (`?origin=`, § Access Service); 400 when it is not an origin. */
  function originParameter(value: unknown): string {
    const origin = typeof value === 'string' ? normalizeOrigin(value) : undefined;
    if (!origin) throw badRequest(`origin: expected the viewer's origin such as https://viewer.example.org, got '${String(value ?? '')}'`);
    return origin;
  }

  /** Records access in the session cookie for `origin`, keeping what the session already had. */
  function grant(request: FastifyRequest, reply: FastifyReply, origin: string, add: { user?: string; clickthrough?: boolean }): void {
    const state = access.session(request);
    const current = state.kind === 'valid' ? state.session : { origins: [] as string[] };
    const origins = [...new Set([...current.origins, origin])].slice(-16);
    access.writeSession(request, reply, { user: add.user ?? ('user' in current ? current.user : undefined), clickthrough: add.clickthrough || ('clickthrough' in current ? current.clickthrough : undefined), origins });
  }

  const accessPath = (profile: AccessProfile): string => `${AUTH2_PREFIX}/access/${profile}`;

  app.get(accessPath('login'), async (request, reply) => {
    const origin = originParameter((request.query as Record<string, unknown>).origin);
    return html(reply, 200, loginPage(`${base(request, reply)}${accessPath('login')}`, csrfFor(request, reply), origin));
  });
  app.post(accessPath('login'), { config: { rateLimit: { max: access.options.loginRateLimit, timeWindow: '1 minute' } } }, async (request, reply) => {
    const form = (request.body ?? {}) as AccessForm;
    if (!csrfValid(request, form)) return html(reply, 403, messagePage('Refused', 'The form expired or did not come from this site (CSRF check failed). Open the login page again.'));
    const origin = originParameter(form.origin);
    const users = access.options.users;
    const ok = users !== undefined && typeof form.username === 'string' && typeof form.password === 'string' && (await users.verify(form.username, form.password));
    if (!ok) return html(reply, 401, loginPage(`${base(request, reply)}${accessPath('login')}`, csrfFor(request, reply), origin, 'Unknown user name or wrong password.'));
    grant(request, reply, origin, { user: form.username! });
    return html(reply, 200, closingPage('Logged in', 'You are logged in; this window closes itself.'));
  });

  app.get(accessPath('clickthrough'), async (request, reply) => {
    const origin = originParameter((request.query as Record<string, unknown>).origin);
    return html(reply, 200, clickthroughPage(`${base(request, reply)}${accessPath('clickthrough')}`, csrfFor(request, reply), origin, options.clickthroughTerms));
  });
  app.post(accessPath('clickthrough'), async (request, reply) => {
    const form = (request.body ?? {}) as AccessForm;
    if (!csrfValid(request, form)) return html(reply, 403, messagePage('Refused', 'The form expired or did not come from this site (CSRF check failed). Open the terms again.'));
    grant(request, reply, originParameter(form.origin), { clickthrough: true });
    return html(reply, 200, closingPage('Terms accepted', 'Thank you; this window closes itself.'));
  });

  // Kiosk and external: nothing to fill in, the address or the SSO proxy's header is the proof.
  app.get(accessPath('kiosk'), async (request, reply) => {
    originParameter((request.query as Record<string, unknown>).origin);
    if (!access.kiosk.has(request.ip)) return html(reply, 403, messagePage('Not in the reading room', 'These images are shown on the reading room’s computers only.'));
    return html(reply, 200, closingPage('Reading room', 'Access granted; this window closes itself.'));
  });
  app.get(accessPath('external'), async (request, reply) => {
    if (access.externalUser(request) === undefined) return html(reply, 401, messagePage('Sign in', 'Sign in through your institution’s single sign-on, then come back.'));
    return html(reply, 200, closingPage('Signed in', 'You are signed in; this window closes itself.'));
  });

  // § Access Token Service: always an HTML page that posts a message (a token or an error) to the
  // origin that asked; the token is bound to that origin.
  app.get(`${AUTH2_PREFIX}/token/:profile`, async (request, reply) => {
    const profile = (request.params as { profile: string }).profile as AccessProfile;
    if (!ACCESS_PROFILES.includes(profile)) throw notFound(`no access token service '${profile}' (there are ${ACCESS_PROFILES.join(', ')})`);
    const query = request.query as Record<string, unknown>;
    const messageId = typeof query.messageId === 'string' && query.messageId !== '' ? query.messageId : undefined;
    const origin = typeof query.origin === 'string' ? normalizeOrigin(query.origin) : undefined;
    const fail = (error: TokenErrorProfile): FastifyReply => html(reply, 200, tokenMessagePage(tokenError2(error, messageId), origin), true);
    if (messageId === undefined || origin === undefined) return fail('invalidRequest');
    let credentials: Credentials;
    if (profile === 'login' || profile === 'clickthrough') {
      const state = access.session(request);
      if (state.kind === 'missing') return fail('missingAspect');
      if (state.kind === 'invalid') return fail('invalidAspect');
      if (state.kind === 'expired') return fail('expiredAspect');
      // Tokens go only to origins the person opened the access service from.
      if (!state.session.origins.includes(origin)) return fail('invalidOrigin');
      credentials = { user: state.session.user, clickthrough: state.session.clickthrough };
    } else {
      credentials = { kiosk: access.kiosk.has(request.ip) || undefined, external: access.externalUser(request) };
    }
    if (!satisfies(profile, credentials)) return fail('missingAspect');
    const { accessToken, expiresIn } = access.issueToken(credentials, origin);
    return html(reply, 200, tokenMessagePage(accessToken2(accessToken, expiresIn, messageId), origin), true);
  });

  // Auth 1.0 § 3 Access Token Service: JSON for a client that calls it directly; with `messageId`
  // (a browser client's iframe), the same JSON posted to `origin` by an HTML page. The token is bound
  // to that origin, given only when the access service was opened from it; the same gate decides.
  app.get(`${AUTH1_PREFIX}/token/:profile`, async (request, reply) => {
    const profile = (request.params as { profile: string }).profile as AccessProfile;
    if (!ACCESS_PROFILES.includes(profile)) throw notFound(`no access token service '${profile}' (there are ${ACCESS_PROFILES.join(', ')})`);
    const query = request.query as Record<string, unknown>;
    const messageId = typeof query.messageId === 'string' && query.messageId !== '' ? query.messageId : undefined;
    const own = ownOrigin(request, reply);
    // Through postMessage the origin is the query's (§ 3.3); called directly, the request's Origin header or our own.
    const origin = messageId !== undefined ? (typeof query.origin === 'string' ? normalizeOrigin(query.origin) : undefined) : typeof request.headers.origin === 'string' ? normalizeOrigin(request.headers.origin) : own;
    const answer = (status: number, body: Record<string, unknown>): FastifyReply =>
      messageId !== undefined
        ? html(reply, 200, tokenMessagePage(body, origin), true)
        : reply.code(status).header('Cache-Control', 'no-store').type('application/json').send(JSON.stringify(body));
    const fail = (error: TokenError1): FastifyReply => answer(TOKEN_ERROR_STATUS[error], tokenError1(error, messageId));
    if (origin === undefined) return fail('invalidRequest');
    let credentials: Credentials;
    if (profile === 'login' || profile === 'clickthrough') {
      const state = access.session(request);
      if (state.kind === 'missing') return fail('missingCredentials');
      if (state.kind !== 'valid') return fail('invalidCredentials');
      // Tokens go only to origins the person opened the access service from (our own pages need no opening).
      if (origin !== own && !state.session.origins.includes(origin)) return fail('invalidOrigin');
      credentials = { user: state.session.user, clickthrough: state.session.clickthrough };
    } else {
      credentials = { kiosk: access.kiosk.has(request.ip) || undefined, external: access.externalUser(request) };
    }
    if (!satisfies(profile, credentials)) return fail('missingCredentials');
    const { accessToken, expiresIn } = access.issueToken(credentials, origin);
    return answer(200, accessToken1(accessToken, expiresIn, messageId));
  });

  // § Logout Service: ends the session (tokens run out on their own, within tokenSeconds).
  app.get(`${AUTH2_PREFIX}/logout`, async (request, reply) => {
    access.clearSession(request, reply);
    return html(reply, 200, messagePage('Logged out', 'You are logged out.'));
  });
}
