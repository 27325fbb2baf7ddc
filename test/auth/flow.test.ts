import { sign } from '@fastify/cookie';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startServer, type RunningServer } from '../helpers/server.js';
import { ARCHIVE_PASSWORD, ARCHIVE_SECRET, csrfOf, IDS, Jar, postedMessage, protectedArchive } from './fixture.js';

const SECRET = ARCHIVE_SECRET;
const VIEWER = 'https://viewer.example.org';
const OTHER = 'https://evil.example.net';
const PASSWORD = ARCHIVE_PASSWORD;
const enc = encodeURIComponent;

interface ProbeResult {
  '@context': string;
  type: string;
  status: number;
  substitute?: { id: string; type: string; width: number; height: number }[];
}

describe('IIIF Authorization Flow 2.0 over HTTP, step by step', () => {
  let cleanup: () => Promise<void>;
  let data: string;
  let server: RunningServer;
  let base: string;

  before(async () => {
    ({ data, server, cleanup } = await protectedArchive('vitrine-auth-flow-'));
    base = server.url;
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  const probe = async (id: string, headers: Record<string, string> = {}, jar = new Jar()): Promise<ProbeResult> => {
    const response = await jar.fetch(`${base}/iiif/auth/2/probe/${enc(id)}`, { headers });
    assert.equal(response.status, 200, 'the probe itself answers 200; its `status` says what the image would');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    return (await response.json()) as ProbeResult;
  };

  /** Steps 2–3 of the flow: the access service (login form, CSRF) for `origin`, then its token service's message. */
  async function logIn(jar: Jar, origin = VIEWER): Promise<void> {
    const form = await jar.fetch(`${base}/iiif/auth/2/access/login?origin=${enc(origin)}`);
    assert.equal(form.status, 200);
    const body = new URLSearchParams({ csrf: csrfOf(await form.text()), origin, username: 'alice', password: PASSWORD });
    const posted = await jar.fetch(`${base}/iiif/auth/2/access/login`, { method: 'POST', body });
    assert.equal(posted.status, 200, await posted.text());
  }

  async function token(jar: Jar, profile: string, query: string): Promise<{ message: Record<string, unknown>; target: string | null }> {
    const response = await jar.fetch(`${base}/iiif/auth/2/token/${profile}?${query}`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(response.headers.get('x-frame-options'), null, 'the token page must load in the client’s iframe');
    return postedMessage(await response.text());
  }

  it('probe 401 (with substitute when degraded) → access → token with messageId and origin → probe 200 → image 200', async () => {
    // 1. The info.json names the probe, with the access service, token and logout services nested.
    const info = await fetch(`${base}/iiif/3/${enc(IDS.restricted)}/info.json`);
    assert.equal(info.status, 401);
    const described = (await info.json()) as { '@context': string[]; service: Record<string, unknown>[] };
    assert.ok(described['@context'].includes('http://iiif.io/api/auth/2/context.json'));
    const [probeService] = described.service;
    assert.equal(probeService!.type, 'AuthProbeService2');
    assert.equal(probeService!.id, `${base}/iiif/auth/2/probe/${enc(IDS.restricted)}`);
    const accessService = (probeService!.service as Record<string, unknown>[])[0]!;
    assert.deepEqual(
      { type: accessService.type, profile: accessService.profile, id: accessService.id },
      { type: 'AuthAccessService2', profile: 'active', id: `${base}/iiif/auth/2/access/login` },
    );
    assert.deepEqual(
      (accessService.service as Record<string, unknown>[]).map((s) => [s.type, s.id]),
      [
        ['AuthAccessTokenService2', `${base}/iiif/auth/2/token/login`],
        ['AuthLogoutService2', `${base}/iiif/auth/2/logout`],
      ],
    );

    // 2. Probe without credentials: 401.
    const first = await probe(IDS.restricted);
    assert.deepEqual([first['@context'], first.type, first.status, first.substitute], ['http://iiif.io/api/auth/2/context.json', 'AuthProbeResult2', 401, undefined]);
    // A degraded image's probe points to what anyone may see instead.
    const degraded = await probe(IDS.degraded);
    assert.equal(degraded.status, 401);
    const substitute = degraded.substitute?.[0];
    assert.deepEqual([substitute?.type, substitute?.width, substitute?.height], ['Image', 200, 150]);
    const pictured = await fetch(substitute!.id);
    assert.equal(pictured.status, 200, 'the substitute is served without authorisation');
    assert.deepEqual(await sharp(Buffer.from(await pictured.arrayBuffer())).metadata().then((m) => [m.width, m.height]), [200, 150]);

    // 3. Access service: the login form, posted with its CSRF token.
    const jar = new Jar();
    await logIn(jar);
    // 4. Token service, in the viewer's iframe: the message echoes messageId and goes to the viewer's origin only.
    const { message, target } = await token(jar, 'login', `messageId=m-1&origin=${enc(VIEWER)}`);
    assert.equal(target, VIEWER);
    assert.deepEqual([message['@context'], message.type, message.messageId], ['http://iiif.io/api/auth/2/context.json', 'AuthAccessToken2', 'm-1']);
    assert.equal(typeof message.accessToken, 'string');
    assert.ok((message.expiresIn as number) > 0);
    const bearer = { authorization: `Bearer ${message.accessToken as string}`, origin: VIEWER };

    // 5. Probe with the token, from the viewer's origin: 200.
    assert.equal((await probe(IDS.restricted, bearer)).status, 200);
    // 6. The image: with the session cookie (as <img> sends it), and with the token.
    for (const response of [await jar.fetch(`${base}/iiif/3/${enc(IDS.restricted)}/full/max/0/default.jpg`), await fetch(`${base}/iiif/3/${enc(IDS.restricted)}/full/max/0/default.jpg`, { headers: bearer })]) {
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'image/jpeg');
      assert.equal(response.headers.get('cache-control'), 'private, no-cache', 'a protected image is never for shared caches');
      assert.match(response.headers.get('vary') ?? '', /Cookie.*Authorization/);
    }
    const full = await jar.fetch(`${base}/iiif/3/${enc(IDS.restricted)}/info.json`);
    assert.equal(full.status, 200);
    assert.equal(((await full.json()) as { service: { type: string }[] }).service[0]!.type, 'AuthProbeService2', 'the info.json still names its probe');

    // 7. Logout ends the session: the cookie no longer opens the image.
    await jar.fetch(`${base}/iiif/auth/2/logout`);
    assert.equal(jar.cookies.has('vitrine_session'), false);
    assert.equal((await jar.fetch(`${base}/iiif/3/${enc(IDS.restricted)}/full/max/0/default.jpg`)).status, 401);
  });

  it('the token is bound to the origin that asked: another origin cannot use it', async () => {
    const jar = new Jar();
    await logIn(jar);
    const { message } = await token(jar, 'login', `messageId=x&origin=${enc(VIEWER)}`);
    const stolen = { authorization: `Bearer ${message.accessToken as string}`, origin: OTHER };
    assert.equal((await probe(IDS.restricted, stolen)).status, 401);
    assert.equal((await fetch(`${base}/iiif/3/${enc(IDS.restricted)}/full/max/0/default.jpg`, { headers: stolen })).status, 401);
    // A forged token (signature changed) is refused from the right origin too.
    const forged = { authorization: `Bearer ${(message.accessToken as string).slice(0, -2)}AA`, origin: VIEWER };
    assert.equal((await probe(IDS.restricted, forged)).status, 401);
  });

  it('token service errors by type: invalidRequest, missingAspect, invalidAspect, expiredAspect, invalidOrigin', async () => {
    const anonymous = new Jar();
    const error = async (jar: Jar, query: string, profile = 'login'): Promise<unknown[]> => {
      const { message, target } = await token(jar, profile, query);
      return [message.type, message.profile, message.messageId, target];
    };
    assert.deepEqual(await error(anonymous, `origin=${enc(VIEWER)}`), ['AuthAccessTokenError2', 'invalidRequest', undefined, VIEWER]);
    assert.deepEqual(await error(anonymous, 'messageId=1&origin=javascript:alert(1)'), ['AuthAccessTokenError2', 'invalidRequest', '1', null]);
    assert.deepEqual(await error(anonymous, `messageId=2&origin=${enc(VIEWER)}`), ['AuthAccessTokenError2', 'missingAspect', '2', VIEWER]);

    const tampered = new Jar();
    await logIn(tampered);
    const genuine = tampered.cookies.get('vitrine_session')!;
    // Another character in the payload: the signature no longer matches.
    tampered.cookies.set('vitrine_session', `${genuine.slice(0, 10)}${genuine[10] === 'A' ? 'B' : 'A'}${genuine.slice(11)}`);
    assert.deepEqual(await error(tampered, `messageId=3&origin=${enc(VIEWER)}`), ['AuthAccessTokenError2', 'invalidAspect', '3', VIEWER]);

    // A session past its time, correctly signed (as a browser that ignored the cookie's Max-Age would send it).
    const expired = new Jar();
    const stale = Buffer.from(JSON.stringify({ user: 'alice', origins: [VIEWER], exp: Math.floor(Date.now() / 1000) - 60 })).toString('base64url');
    expired.cookies.set('vitrine_session', sign(stale, SECRET));
    assert.deepEqual(await error(expired, `messageId=4&origin=${enc(VIEWER)}`), ['AuthAccessTokenError2', 'expiredAspect', '4', VIEWER]);

    // Logged in from the viewer, asked for by another origin: no token for it.
    const elsewhere = new Jar();
    await logIn(elsewhere);
    assert.deepEqual(await error(elsewhere, `messageId=5&origin=${enc(OTHER)}`), ['AuthAccessTokenError2', 'invalidOrigin', '5', OTHER]);
    // A clickthrough is not a login: the login token service still misses its aspect.
    const clicked = new Jar();
    const terms = await clicked.fetch(`${base}/iiif/auth/2/access/clickthrough?origin=${enc(VIEWER)}`);
    await clicked.fetch(`${base}/iiif/auth/2/access/clickthrough`, { method: 'POST', body: new URLSearchParams({ csrf: csrfOf(await terms.text()), origin: VIEWER }) });
    assert.deepEqual(await error(clicked, `messageId=6&origin=${enc(VIEWER)}`), ['AuthAccessTokenError2', 'missingAspect', '6', VIEWER]);
  });

  it('the session cookie is signed and HttpOnly, SameSite=Lax over plain HTTP; the CSRF cookie is Strict', async () => {
    const jar = new Jar();
    const form = await jar.fetch(`${base}/iiif/auth/2/access/login?origin=${enc(VIEWER)}`);
    const csrfCookie = jar.lastSetCookie.find((c) => c.startsWith('vitrine_csrf='))!;
    assert.match(csrfCookie, /HttpOnly/i);
    assert.match(csrfCookie, /SameSite=Strict/i);
    assert.equal(form.headers.get('x-frame-options'), 'DENY', 'the login form cannot be framed (clickjacking)');
    const body = new URLSearchParams({ csrf: csrfOf(await form.text()), origin: VIEWER, username: 'alice', password: PASSWORD });
    await jar.fetch(`${base}/iiif/auth/2/access/login`, { method: 'POST', body });
    const session = jar.lastSetCookie.find((c) => c.startsWith('vitrine_session='))!;
    assert.match(session, /HttpOnly/i);
    assert.match(session, /SameSite=Lax/i);
    assert.match(session, /Path=\//);
    assert.doesNotMatch(session, /Secure/i, 'plain HTTP: a Secure cookie would never come back');
    assert.match(jar.cookies.get('vitrine_session')!, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_%+/-]+/, 'value.signature');
    assert.doesNotMatch(session, new RegExp(PASSWORD), 'no secret in the cookie');
  });

  it('refuses a login form without its CSRF token, or with another one', async () => {
    const jar = new Jar();
    const form = await jar.fetch(`${base}/iiif/auth/2/access/login?origin=${enc(VIEWER)}`);
    const csrf = csrfOf(await form.text());
    const post = (fields: Record<string, string>, from = jar): Promise<Response> =>
      from.fetch(`${base}/iiif/auth/2/access/login`, { method: 'POST', body: new URLSearchParams({ origin: VIEWER, username: 'alice', password: PASSWORD, ...fields }) });
    assert.equal((await post({})).status, 403);
    assert.equal((await post({ csrf: `${csrf.slice(0, -1)}x` })).status, 403);
    assert.equal((await post({ csrf }, new Jar())).status, 403, 'a forged cross-site post carries no CSRF cookie');
    assert.equal(jar.cookies.has('vitrine_session'), false);
    const wrong = await post({ csrf, password: 'not the password' });
    assert.equal(wrong.status, 401);
    assert.equal(jar.cookies.has('vitrine_session'), false);
  });

  it('no open redirect: the access service never redirects, and refuses an origin that is not one', async () => {
    for (const origin of ['https://viewer.example.org/path', 'javascript:alert(1)', '//evil.example.net', '']) {
      const response = await fetch(`${base}/iiif/auth/2/access/login?origin=${enc(origin)}`, { redirect: 'manual' });
      assert.equal(response.status, 400, origin);
    }
  });

  it('kiosk and external profiles: the address or the SSO header is the proof', async () => {
    assert.equal((await fetch(`${base}/iiif/3/${enc(IDS.kiosk)}/full/max/0/default.jpg`)).status, 401, 'this server has no kiosk ranges');
    assert.equal((await fetch(`${base}/iiif/3/${enc(IDS.external)}/full/max/0/default.jpg`)).status, 401);
    assert.equal((await fetch(`${base}/iiif/3/${enc(IDS.external)}/full/max/0/default.jpg`, { headers: { 'x-remote-user': 'bob' } })).status, 200);
    const external = postedMessage(await (await fetch(`${base}/iiif/auth/2/token/external?messageId=e&origin=${enc(VIEWER)}`, { headers: { 'x-remote-user': 'bob' } })).text());
    assert.equal(external.message.type, 'AuthAccessToken2');
    const kiosk = await startServer(undefined, { data, authSecret: SECRET, kioskRanges: '10.0.0.0/8, 127.0.0.0/8' });
    try {
      assert.equal((await fetch(`${kiosk.url}/iiif/3/${enc(IDS.kiosk)}/full/max/0/default.jpg`)).status, 200);
      assert.equal((await fetch(`${kiosk.url}/iiif/3/${enc(IDS.restricted)}/full/max/0/default.jpg`)).status, 401, 'the reading room does not open login images');
      const info = (await (await fetch(`${kiosk.url}/iiif/3/${enc(IDS.kiosk)}/info.json`)).json()) as { service: { service: { profile: string }[] }[] };
      assert.equal(info.service[0]!.service[0]!.profile, 'kiosk');
    } finally {
      await kiosk.close();
    }
  });

  it('rate-limits login attempts (429 after loginRateLimit a minute)', async () => {
    const limited = await startServer(undefined, { data, authSecret: SECRET, loginRateLimit: 3 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const response = await fetch(`${limited.url}/iiif/auth/2/access/login`, { method: 'POST', body: new URLSearchParams({ origin: VIEWER, username: 'alice', password: 'guess' }) });
        statuses.push(response.status);
      }
      assert.deepEqual(statuses, [403, 403, 403, 429]);
    } finally {
      await limited.close();
    }
  });
});
