import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Credentials } from './gate.js';
import { IpRanges } from './ip-ranges.js';
import { signValue, unsignValue } from './signed.js';
import { UsersFile } from './users.js';

export const SESSION_COOKIE = 'vitrine_session';

/** What a session cookie holds (signed by @fastify/cookie; `exp` checked here, as a cookie's own expiry is the browser's word only). */
export interface Session {
  readonly user?: string | undefined;
  readonly clickthrough?: boolean | undefined;
  /** Origins the access service was opened for: the only ones its token service gives tokens to. */
  readonly origins: readonly string[];
  /** Seconds since the epoch. */
  readonly exp: number;
}

/** A session cookie as it came: none, one that fails its signature, one past its time, or a good one. */
export type SessionState = { readonly kind: 'missing' } | { readonly kind: 'invalid' } | { readonly kind: 'expired' } | { readonly kind: 'valid'; readonly session: Session };

/** An access token's content: the credentials it stands for, and the one origin it is for. */
interface TokenPayload {
  readonly credentials: Credentials;
  readonly origin: string;
  readonly exp: number;
}

export interface AccessControlOptions {
  readonly secret: string;
  readonly users: UsersFile | undefined;
  readonly kioskRanges: readonly string[];
  readonly externalAuthHeader?: string | undefined;
  readonly sessionHours: number;
  readonly tokenSeconds: number;
  /** Login attempts per client address per minute. */
  readonly loginRateLimit: number;
}

const seconds = (): number => Math.floor(Date.now() / 1000);

/** An origin as browsers send it (scheme://host[:port]), or undefined when the text is not one. */
export function normalizeOrigin(text: string): string | undefined {
  try {
    const url = new URL(text);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin === 'null') return undefined;
    // An origin has no path, query or credentials: `https://a.example/x` is not one.
    if (`${url.origin}` !== text.replace(/\/$/, '')) return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/**
 * Everything a request can prove, read in one place: the session cookie (login, clickthrough), an
 * access token (Authorization: Bearer, only from the origin it was given to), the client's address
 * (kiosk ranges) and the SSO proxy's header (external). Secrets and tokens are never logged.
 */
export class AccessControl {
  readonly kiosk: IpRanges;

  constructor(readonly options: AccessControlOptions) {
    this.kiosk = IpRanges.parse(options.kioskRanges);
  }

  session(request: FastifyRequest): SessionState {
    const cookie = request.cookies?.[SESSION_COOKIE];
    if (cookie === undefined || cookie === '') return { kind: 'missing' };
    const unsigned = request.unsignCookie(cookie);
    if (!unsigned.valid || unsigned.value === null) return { kind: 'invalid' };
    let session: Session;
    try {
      session = JSON.parse(Buffer.from(unsigned.value, 'base64url').toString('utf8')) as Session;
    } catch {
      return { kind: 'invalid' };
    }
    if (typeof session.exp !== 'number' || !Array.isArray(session.origins)) return { kind: 'invalid' };
    return session.exp <= seconds() ? { kind: 'expired' } : { kind: 'valid', session };
  }

  /**
   * Sets the session cookie: signed, HttpOnly; SameSite=None with Secure over HTTPS, because images
   * and the token service are loaded from the viewer's page, another site, in <img> and an iframe
   * (a Lax cookie would not be sent there); over plain HTTP browsers refuse SameSite=None without
   * Secure, so Lax (a viewer on the same site still works).
   */
  writeSession(request: FastifyRequest, reply: FastifyReply, session: Omit<Session, 'exp'>): void {
    const maxAge = Math.round(this.options.sessionHours * 3600);
    const value = Buffer.from(JSON.stringify({ ...session, exp: seconds() + maxAge })).toString('base64url');
    reply.setCookie(SESSION_COOKIE, value, { ...cookieAttributes(request), signed: true, maxAge });
  }

  clearSession(request: FastifyRequest, reply: FastifyReply): void {
    reply.clearCookie(SESSION_COOKIE, cookieAttributes(request));
  }

  /** The credentials of the current session plus what the request itself proves (address, SSO header). */
  sessionCredentials(request: FastifyRequest): Credentials {
    const state = this.session(request);
    const session = state.kind === 'valid' ? state.session : undefined;
    return {
      user: session?.user,
      clickthrough: session?.clickthrough,
      kiosk: this.kiosk.has(request.ip) || undefined,
      external: this.externalUser(request),
    };
  }

  /** The user the SSO proxy names, if a header was configured and set. */
  externalUser(request: FastifyRequest): string | undefined {
    const header = this.options.externalAuthHeader;
    const value = header ? request.headers[header] : undefined;
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  }

  /** A token for these credentials, usable from `origin` only (Auth 2.0 §3.3: the token service binds it to the origin that asked). */
  issueToken(credentials: Credentials, origin: string): { accessToken: string; expiresIn: number } {
    const expiresIn = this.options.tokenSeconds;
    const payload: TokenPayload = { credentials, origin, exp: seconds() + expiresIn };
    return { accessToken: signValue(this.options.secret, 'access-token', payload), expiresIn };
  }

  /**
   * The credentials of a bearer token, when it is genuine, current, and comes from its origin: the
   * Origin header, or the server's own origin when a same-origin request sends none.
   */
  tokenCredentials(request: FastifyRequest, ownOrigin: string): Credentials | undefined {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (!token) return undefined;
    const unsigned = unsignValue<TokenPayload>(this.options.secret, 'access-token', token);
    if (!unsigned.ok) return undefined;
    const origin = typeof request.headers.origin === 'string' ? request.headers.origin : ownOrigin;
    return unsigned.value.origin === origin ? unsigned.value.credentials : undefined;
  }

  /** Everything the request proves: its session, its address, its SSO header, and a bearer token from its origin. */
  credentialsOf(request: FastifyRequest, ownOrigin: string): Credentials {
    const base = this.sessionCredentials(request);
    const token = this.tokenCredentials(request, ownOrigin);
    if (!token) return base;
    return {
      user: base.user ?? token.user,
      clickthrough: base.clickthrough || token.clickthrough,
      kiosk: base.kiosk || token.kiosk,
      external: base.external ?? token.external,
    };
  }
}

/** HttpOnly, path /, SameSite and Secure as the connection allows (see writeSession). */
export function cookieAttributes(request: FastifyRequest): { httpOnly: true; path: string; sameSite: 'none' | 'lax'; secure: boolean } {
  const secure = request.protocol === 'https';
  return { httpOnly: true, path: '/', sameSite: secure ? 'none' : 'lax', secure };
}
