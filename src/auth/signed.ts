import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Values signed with the server's secret (HMAC-SHA-256), for what must survive without server-side
 * state: access tokens. `purpose` is part of the signature, so a value signed for one use is
 * refused for another.
 */
export type Unsigned<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: 'invalid' | 'expired' };

function mac(secret: string, purpose: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`${purpose}\n${payload}`).digest();
}

/** `payload.signature`, both base64url; `exp` (seconds since the epoch) is checked on the way back. */
export function signValue(secret: string, purpose: string, value: object & { readonly exp: number }): string {
  const payload = Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${payload}.${mac(secret, purpose, payload).toString('base64url')}`;
}

export function unsignValue<T extends { readonly exp: number }>(secret: string, purpose: string, signed: string, now = Date.now()): Unsigned<T> {
  const dot = signed.indexOf('.');
  if (dot <= 0) return { ok: false, reason: 'invalid' };
  const payload = signed.slice(0, dot);
  const given = Buffer.from(signed.slice(dot + 1), 'base64url');
  const expected = mac(secret, purpose, payload);
  // Constant time: how much of a forged signature matched must not show in the response time.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
  let value: T;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as T;
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (typeof value?.exp !== 'number' || value.exp * 1000 <= now) return { ok: false, reason: 'expired' };
  return { ok: true, value };
}

/** Whether two texts are equal, in time that does not depend on where they differ. */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
