import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { assertValid2, assertValid3 } from '../helpers/presentation.js';
import type { RunningServer } from '../helpers/server.js';
import { ARCHIVE_PASSWORD, csrfOf, IDS, Jar, postedMessage, protectedArchive } from './fixture.js';

const VIEWER = 'https://viewer.example.org';
const OTHER = 'https://evil.example.net';
const PASSWORD = ARCHIVE_PASSWORD;
const AUTH1 = 'http://iiif.io/api/auth/1';
const enc = encodeURIComponent;

type Json = Record<string, unknown>;

/** The Auth 1.0 cookie service among an info.json's services. */
function cookieService(info: Json): Json {
  const services = (Array.isArray(info.service) ? info.service : [info.service]) as Json[];
  const found = services.find((s) => typeof s.profile === 'string' && s.profile.startsWith(`${AUTH1}/`));
  assert.ok(found, `no Auth 1.0 service in ${JSON.stringify(info.service)}`);
  return found;
}

const nested = (service: Json, profile: string): string => {
  const found = (service.service as Json[]).find((s) => s.profile === `${AUTH1}/${profile}`);
  assert.ok(found, `no ${profile} service in ${JSON.stringify(service)}`);
  return found['@id'] as string;
};

const size = async (response: Response): Promise<[number?, number?]> => {
  const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
  return [meta.width, meta.height];
};

describe('IIIF Authentication API 1.0 over HTTP, step by step (beside 2.0)', () => {
  let cleanup: () => Promise<void>;
  let server: RunningServer;
  let base: string;

  before(async () => {
    ({ server, cleanup } = await protectedArchive('vitrine-auth1-flow-'));
    base = server.url;
  });
  after(async () => {
    await server?.close();
    await cleanup();
  });

  /** The cookie service as a 1.0 client opens it: in a window, with ?origin=; the login form posted with its CSRF token. */
  async function logIn(jar: Jar, accessService: string, origin = VIEWER): Promise<void> {
    const form = await jar.fetch(`${accessService}?origin=${enc(origin)}`);
    assert.equal(form.status, 200);
    const posted = await jar.fetch(accessService, { method: 'POST', body: new URLSearchParams({ csrf: csrfOf(await form.text()), origin, username: 'alice', password: PASSWORD }) });
    assert.equal(posted.status, 200);
    assert.match(await posted.text(), /window\.close\(\)/, 'the access window closes itself (§ 2.1.1)');
    assert.ok(jar.cookies.has('vitrine_session'), 'the access service sets the session cookie');
  }

  it('info.json 401 with services → login → token (JSON and messageId page) → info.json and image 200 with the bearer token → logout → 401', async () => {
    // 1. info.json 3.0 and 2.1 of a restricted image: 401, naming the cookie service with token and logout nested.
    const info3 = await fetch(`${base}/iiif/3/${enc(IDS.restricted)}/info.json`);
    assert.equal(info3.status, 401);
    const body3 = (await info3.json()) as Json;
    const service = cookieService(body3);
    // In a 3.0 document (Image API 3.0 § 5.7, Presentation 3.0 `service`): the @type Presentation 3.0
    // defines for 1.0 services, no @context inside, the 1.0 context in the document's list, before the Image API's.
    assert.deepEqual(
      [service['@context'], service['@type'], service['@id'], service.profile, typeof service.label, typeof service.header, typeof service.description, typeof service.confirmLabel, typeof service.failureHeader, typeof service.failureDescription],
      [undefined, 'AuthCookieService1', `${base}/iiif/auth/2/access/login`, `${AUTH1}/login`, 'string', 'string', 'string', 'string', 'string', 'string'],
    );
    assert.deepEqual(body3['@context'], ['http://iiif.io/api/auth/2/context.json', `${AUTH1}/context.json`, 'http://iiif.io/api/image/3/context.json']);
    assert.deepEqual((service.service as Json[]).map((s) => s['@type']), ['AuthTokenService1', 'AuthLogoutService1']);
    const tokenService = nested(service, 'token');
    const logoutService = nested(service, 'logout');
    assert.equal(tokenService, `${base}/iiif/auth/1/token/login`);
    // In 2.1, as the 1.0 spec writes them (§ 2.4): @context in the service.
    const info2 = await fetch(`${base}/iiif/2/${enc(IDS.restricted)}/info.json`);
    assert.equal(info2.status, 401);
    const service2 = cookieService((await info2.json()) as Json);
    assert.deepEqual([service2['@context'], service2['@type'], service2['@id']], [`${AUTH1}/context.json`, undefined, service['@id']]);

    // 2. The access (cookie) service sets the session cookie.
    const jar = new Jar();
    await logIn(jar, service['@id'] as string);

    // 3a. Token service called directly from the viewer's origin: JSON.
    const direct = await jar.fetch(tokenService, { headers: { origin: VIEWER } });
    assert.equal(direct.status, 200);
    assert.match(direct.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(direct.headers.get('cache-control'), 'no-store');
    const json = (await direct.json()) as { accessToken: string; expiresIn: number };
    assert.equal(typeof json.accessToken, 'string');
    assert.ok(json.expiresIn > 0);
    // 3b. With messageId and origin (the viewer's iframe): a page that posts the JSON plus messageId to that origin only.
    const framed = await jar.fetch(`${tokenService}?messageId=7&origin=${enc(VIEWER)}`);
    assert.equal(framed.status, 200);
    assert.match(framed.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(framed.headers.get('x-frame-options'), null, 'the token page must load in the viewer’s iframe');
    const page = await framed.text();
    assert.ok(!/postMessage\([^)]*['"]\*['"]/.test(page), 'never posted to *');
    const { message, target } = postedMessage(page);
    assert.equal(target, VIEWER);
    assert.equal(message.messageId, '7');
    assert.ok(typeof message.accessToken === 'string' && (message.expiresIn as number) > 0, JSON.stringify(message));

    // 4. With the token, from the viewer's origin: info.json 200 (the full service's own id) and the full image.
    const bearer = { authorization: `Bearer ${message.accessToken as string}`, origin: VIEWER };
    const granted = await fetch(`${base}/iiif/3/${enc(IDS.restricted)}/info.json`, { headers: bearer });
    assert.equal(granted.status, 200);
    assert.equal(((await granted.json()) as Json).id, `${base}/iiif/3/${enc(IDS.restricted)}`);
    const picture = await fetch(`${base}/iiif/3/${enc(IDS.restricted)}/full/max/0/default.jpg`, { headers: bearer });
    assert.equal(picture.status, 200);
    assert.deepEqual(await size(picture), [600, 450]);
    const twoOne = await fetch(`${base}/iiif/2/${enc(IDS.restricted)}/full/full/0/default.jpg`, { headers: { authorization: `Bearer ${json.accessToken}`, origin: VIEWER } });
    assert.equal(twoOne.status, 200, 'the JSON token works as well');

    // 5. Logout: the session ends, the token service has nothing to give, info.json is 401 again.
    const out = await jar.fetch(logoutService);
    assert.equal(out.status, 200);
    assert.ok(!jar.cookies.has('vitrine_session'), 'logout clears the session cookie');
    const after = await jar.fetch(tokenService, { headers: { origin: VIEWER } });
    assert.equal(after.status, 401);
    assert.equal(((await after.json()) as Json).error, 'missingCredentials');
    assert.equal((await jar.fetch(`${base}/iiif/3/${enc(IDS.restricted)}/info.json`)).status, 401);
  });

  it('token errors: missingCredentials without a cookie, invalidOrigin for an origin access was not opened from', async () => {
    const token = `${base}/iiif/auth/1/token/login`;
    const missing = await fetch(token, { headers: { origin: VIEWER } });
    assert.equal(missing.status, 401);
    const body = (await missing.json()) as Json;
    assert.equal(body.error, 'missingCredentials');
    assert.equal(typeof body.description, 'string');
    assert.equal(body.accessToken, undefined);
    const framedMissing = postedMessage(await (await fetch(`${token}?messageId=a&origin=${enc(VIEWER)}`)).text());
    assert.deepEqual([framedMissing.message.error, framedMissing.message.messageId, framedMissing.target], ['missingCredentials', 'a', VIEWER]);

    const jar = new Jar();
    await logIn(jar, `${base}/iiif/auth/2/access/login`, VIEWER);
    const wrong = await jar.fetch(token, { headers: { origin: OTHER } });
    assert.equal(wrong.status, 403);
    assert.equal(((await wrong.json()) as Json).error, 'invalidOrigin');
    const framedWrong = postedMessage(await (await jar.fetch(`${token}?messageId=b&origin=${enc(OTHER)}`)).text());
    assert.deepEqual([framedWrong.message.error, framedWrong.message.accessToken], ['invalidOrigin', undefined]);
    const bad = await jar.fetch(`${token}?messageId=c&origin=${enc('javascript:alert(1)')}`);
    assert.equal(postedMessage(await bad.text()).message.error, 'invalidRequest');
    assert.equal((await fetch(`${base}/iiif/auth/1/token/nonsense`)).status, 404);
  });

  it('a degraded image: info.json 302 to the degraded service (another id), which serves what anyone may see; clickthrough opens the full one', async () => {
    for (const version of [3, 2] as const) {
      // § 3.2 Tiered Access: not authorised for this tier but a lower one exists → 302 to its description.
      const response = await fetch(`${base}/iiif/${version}/${enc(IDS.degraded)}/info.json`, { redirect: 'manual' });
      const degradedId = `${base}/iiif/auth/1/degraded/${version}/${enc(IDS.degraded)}`;
      assert.deepEqual([response.status, response.headers.get('location'), response.headers.get('cache-control')], [302, `${degradedId}/info.json`, 'no-store']);
      assert.match(response.headers.get('vary') ?? '', /Cookie.*Authorization/);
      const own = await fetch(`${base}/iiif/${version}/${enc(IDS.degraded)}/info.json`);
      assert.equal(own.status, 200, 'the degraded service itself is open');
      assert.equal(own.url, `${degradedId}/info.json`);
      const info = (await own.json()) as Json;
      assert.equal(info.id ?? info['@id'], degradedId, 'the id differs from the one asked for, so 1.0 clients know it is another tier (§ 4)');
      assert.equal(cookieService(info).profile, `${AUTH1}/clickthrough`);
    }
    const degraded = `${base}/iiif/auth/1/degraded/3/${enc(IDS.degraded)}`;
    const small = await fetch(`${degraded}/full/max/0/default.jpg`);
    assert.equal(small.status, 200);
    assert.deepEqual(await size(small), [200, 150]);
    assert.equal((await fetch(`${degraded}/full/600,/0/default.jpg`)).status, 401);

    // Clickthrough through the 1.0 services, then the token: the full service answers 200 in full.
    const jar = new Jar();
    const clickthrough = cookieService((await (await fetch(`${base}/iiif/3/${enc(IDS.degraded)}/info.json`)).json()) as Json);
    const terms = await jar.fetch(`${clickthrough['@id'] as string}?origin=${enc(VIEWER)}`);
    const accepted = await jar.fetch(clickthrough['@id'] as string, { method: 'POST', body: new URLSearchParams({ csrf: csrfOf(await terms.text()), origin: VIEWER }) });
    assert.equal(accepted.status, 200);
    const { message } = postedMessage(await (await jar.fetch(`${nested(clickthrough, 'token')}?messageId=d&origin=${enc(VIEWER)}`)).text());
    const bearer = { authorization: `Bearer ${message.accessToken as string}`, origin: VIEWER };
    const full = await fetch(`${base}/iiif/3/${enc(IDS.degraded)}/info.json`, { headers: bearer });
    assert.equal(full.status, 200);
    assert.ok(((await full.json()) as { sizes: { width: number }[] }).sizes.some((s) => s.width === 600));
    assert.deepEqual(await size(await fetch(`${base}/iiif/3/${enc(IDS.degraded)}/full/max/0/default.jpg`, { headers: bearer })), [600, 450]);
    assert.equal((await fetch(`${degraded}/full/600,/0/default.jpg`, { headers: bearer })).status, 401, 'the degraded service stays degraded whoever asks');
  });

  it('no bypass: a 1.0 token is refused from another origin, without an origin, forged, or on the degraded service of a restricted image', async () => {
    const jar = new Jar();
    await logIn(jar, `${base}/iiif/auth/2/access/login`, VIEWER);
    const { message } = postedMessage(await (await jar.fetch(`${base}/iiif/auth/1/token/login?messageId=n&origin=${enc(VIEWER)}`)).text());
    const token = message.accessToken as string;
    const paths = [`/iiif/3/${enc(IDS.restricted)}/info.json`, `/iiif/3/${enc(IDS.restricted)}/full/max/0/default.jpg`, `/iiif/2/${enc(IDS.restricted)}/full/full/0/default.jpg`];
    for (const p of paths) {
      assert.equal((await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}`, origin: VIEWER } })).status, 200, `${p} with the token from its origin`);
      assert.equal((await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}`, origin: OTHER } })).status, 401, `${p} from another origin`);
      assert.equal((await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}` } })).status, 401, `${p} without an Origin`);
      assert.equal((await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token.slice(0, -2)}xx`, origin: VIEWER } })).status, 401, `${p} forged`);
    }
    for (const p of [`info.json`, `full/max/0/default.jpg`, `full/32,/0/default.jpg`]) {
      const response = await fetch(`${base}/iiif/auth/1/degraded/3/${enc(IDS.restricted)}/${p}`, { headers: { authorization: `Bearer ${token}`, origin: VIEWER } });
      assert.equal(response.status, 401, `the degraded service of a restricted image: ${p}`);
      assert.doesNotMatch(response.headers.get('content-type') ?? '', /^image\//);
    }
  });

  it('manifests 3.0 and 2.1 name the 1.0 cookie service of protected images only, inside the image service', async () => {
    // 3.0 (Presentation 3.0 § 5.7's example): the cookie service inside the ImageService3, typed, without @context.
    const manifest3 = (await (await fetch(`${base}/iiif/manifest/Fonds/Letter`)).json()) as { '@context': string[]; items: { items: { items: { body: { service: Json[] } }[] }[] }[] };
    assert.deepEqual(manifest3['@context'], ['http://iiif.io/api/auth/2/context.json', `${AUTH1}/context.json`, 'http://iiif.io/api/presentation/3/context.json']);
    const [imageService, probe] = manifest3.items[0]!.items[0]!.items[0]!.body.service;
    assert.deepEqual([imageService!.type, probe!.type], ['ImageService3', 'AuthProbeService2']);
    const cookie3 = cookieService(imageService!);
    assert.deepEqual([cookie3['@type'], cookie3['@context'], cookie3.profile, nested(cookie3, 'token')], ['AuthCookieService1', undefined, `${AUTH1}/login`, `${base}/iiif/auth/1/token/login`]);
    // 2.1: inside the image service, as the 1.0 spec writes it.
    const manifest2 = (await (await fetch(`${base}/iiif/presentation/2/manifest/Fonds/Letter`)).json()) as { sequences: { canvases: { images: { resource: { service: Json } }[] }[] }[] };
    const cookie2 = cookieService(manifest2.sequences[0]!.canvases[0]!.images[0]!.resource.service);
    // Both still pass the Presentation schemas with the auth services in them (2.1 through its upgrade to 3.0).
    assertValid3(manifest3, 'protected 3.0 manifest');
    assertValid2(manifest2 as unknown as Json, 'protected 2.1 manifest');
    assert.deepEqual([cookie2['@context'], cookie2.profile, nested(cookie2, 'token')], [`${AUTH1}/context.json`, `${AUTH1}/login`, `${base}/iiif/auth/1/token/login`]);
    for (const url of [`${base}/iiif/manifest/Open`, `${base}/iiif/presentation/2/manifest/Open`]) {
      assert.ok(!JSON.stringify(await (await fetch(url)).json()).includes(AUTH1), `${url} names no auth service`);
    }
    const open = await fetch(`${base}/iiif/3/${enc(IDS.open)}/info.json`);
    assert.equal(open.status, 200);
    assert.equal(((await open.json()) as Json).service, undefined, 'an open image has no services');
  });
});
