import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page, Response } from 'playwright-core';
import { pagePicture } from '../helpers/corpus.js';
import { startServer, tempDir, type RunningServer } from '../helpers/server.js';
import { GuardedPage, launch, mainCanvas, paintedShare, waitUntil } from '../web/browser.js';
import { ARCHIVE_PASSWORD, ARCHIVE_SECRET, convert, usersCli } from './fixture.js';

/**
 * Acceptance 1 of issue 19: Mirador 4.0 (the bundled viewer page), which speaks Auth 1.0, in
 * Chromium against the running server. For each profile that asks something of the person (login,
 * clickthrough): a restricted object shows the login prompt, the access window (a popup) grants
 * access, then full-resolution tiles load; a degraded object shows the degraded image to a guest,
 * the full one after access, and the degraded one again after logout.
 */

const PROFILES = ['login', 'clickthrough'] as const;
type Profile = (typeof PROFILES)[number];
/** Objects (one page of 600×450, tiles of 256 px: scale factors 1, 2, 4) and their pages' identifiers. */
const object = (profile: Profile, access: 'restricted' | 'degraded'): string => `${profile}-${access}/Object`;
const pageOf = (id: string): string => `${id}/001`;

/**
 * An Image API 3.0 image request of the full service or of the 1.0 degraded service, as the viewer
 * makes them: a tile (`{x},{y},{w},{h}/{w},{h}`) or a whole size (`full/{w},{h}`, for a description
 * that offers sizes only). Thumbnails (`full/,120`) are not counted.
 */
const IMAGE = /\/(iiif\/3|iiif\/auth\/1\/degraded\/3)\/[^/]+\/(full|\d+,\d+,(\d+),\d+)\/(\d+),(\d+)\/0\/default\.jpg$/;
const WIDTH = 600;
interface Tile {
  readonly service: 'full' | 'degraded';
  /** Region width over output width: 1 is full resolution. */
  readonly scale: number;
  readonly status: number;
}
function tileOf(response: Response): Tile | undefined {
  const match = IMAGE.exec(new URL(response.url()).pathname);
  if (!match) return undefined;
  const regionWidth = match[2] === 'full' ? WIDTH : Number(match[3]);
  return { service: match[1] === 'iiif/3' ? 'full' : 'degraded', scale: Math.round(regionWidth / Number(match[4])), status: response.status() };
}

describe('Auth 1.0 in Mirador 4 (Chromium): login and clickthrough, restricted and degraded', () => {
  let cleanup: () => Promise<void>;
  let server: RunningServer;
  let browser: Browser;
  let base: string;

  before(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir('vitrine-auth-mirador-'));
    const masters = path.join(dir, 'masters');
    const data = path.join(dir, 'data');
    let n = 0;
    for (const profile of PROFILES) {
      for (const access of ['restricted', 'degraded'] as const) {
        const series = path.join(masters, `${profile}-${access}`);
        await mkdir(path.join(series, 'Object'), { recursive: true });
        await pagePicture(++n, 600, 450).tiff().toFile(path.join(series, 'Object', '001.tif'));
        await writeFile(path.join(series, 'access.yml'), `access: ${access}\n${access === 'degraded' ? 'degradedSize: 200\n' : ''}profile: ${profile}\n`);
      }
    }
    const [, launched] = await Promise.all([convert(masters, data), launch()]);
    browser = launched;
    const added = await usersCli(['add', 'alice', '--data', data], `${ARCHIVE_PASSWORD}\n`);
    assert.equal(added.code, 0, added.stderr);
    server = await startServer(undefined, { data, authSecret: ARCHIVE_SECRET });
    base = server.url;
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await cleanup?.();
  });

  async function openMirador(id: string): Promise<GuardedPage> {
    const g = await GuardedPage.open(browser, base);
    await g.page.goto(`${base}/viewer/mirador?manifest=${encodeURIComponent(`${base}/iiif/manifest/${id}`)}`);
    return g;
  }
  const tiles = (g: GuardedPage, from = 0): Tile[] => g.responses.slice(from).map(tileOf).filter((t): t is Tile => t !== undefined);

  /** Mirador's prompt (its label, then header and description once opened), the access window in a popup, filled in; resolves when the popup closed itself. */
  async function gainAccess(g: GuardedPage, profile: Profile): Promise<void> {
    const { page } = g;
    const label = profile === 'login' ? 'Log in to see this image' : 'Accept the terms of use to see this image';
    await page.getByText(label).waitFor();
    await page.getByRole('button', { name: /continue/i }).click();
    await page.getByText(profile === 'login' ? 'This image is restricted' : 'Terms of use', { exact: true }).waitFor();
    const confirm = profile === 'login' ? 'Log in' : 'Accept the terms';
    await useAccessWindow(page, page.getByRole('button', { name: confirm, exact: true }), profile);
  }

  /** Clicks `confirm`, fills in the access window it opens (a popup) and waits until that window closed itself. */
  async function useAccessWindow(page: Page, confirm: Locator, profile: Profile): Promise<void> {
    const [popup] = await Promise.all([page.waitForEvent('popup'), confirm.click()]);
    assert.match(popup.url(), new RegExp(`/iiif/auth/2/access/${profile}\\?origin=`), 'the access service opens with ?origin=');
    // The access page closes itself once access is granted (it may do so before the click returns).
    const closed = popup.waitForEvent('close', { timeout: 20_000 });
    if (profile === 'login') {
      await popup.getByLabel('User name').fill('alice');
      await popup.getByLabel('Password').fill(ARCHIVE_PASSWORD);
    }
    const submit = popup.getByRole('button', { name: profile === 'login' ? 'Log in' : 'I accept these terms' });
    await submit.click({ noWaitAfter: true }).catch((error: unknown) => assert.ok(popup.isClosed(), String(error)));
    await closed.catch(async () => assert.fail(`the access window stayed open: ${await popup.locator('body').innerText().catch(() => '?')}`));
  }

  /** Waits for full-resolution tiles of the full service answered 200 and a painted canvas. */
  async function fullResolution(g: GuardedPage, from: number): Promise<void> {
    await waitUntil('full-resolution tiles answered 200', () => tiles(g, from).filter((t) => t.service === 'full' && t.scale === 1 && t.status === 200).length >= 2, 30_000);
    const canvas = await mainCanvas(g.page);
    await waitUntil('the image painted', async () => (await paintedShare(canvas)) > 0.2, 30_000);
  }

  for (const profile of PROFILES) {
    it(`${profile}: a restricted object shows Mirador's prompt; after the access window, full-resolution tiles load`, async () => {
      const g = await openMirador(object(profile, 'restricted'));
      const infoUrl = `${base}/iiif/3/${encodeURIComponent(pageOf(object(profile, 'restricted')))}/info.json`;
      await waitUntil('the info.json', () => g.responses.some((r) => r.url() === infoUrl));
      assert.deepEqual(g.responses.filter((r) => r.url() === infoUrl).map((r) => r.status()), [401], 'the restricted image is a 401 to a guest (Auth 1.0 § 3.1)');
      await gainAccess(g, profile);
      const mark = g.responses.length;
      await fullResolution(g, mark);
      const before = tiles(g).slice(0, tiles(g).length - tiles(g, mark).length);
      assert.ok(before.every((t) => t.status === 401), `no tile was served before access: ${JSON.stringify(before)}`);
      assert.deepEqual(tiles(g, mark).filter((t) => t.status !== 200), [], 'every tile after access answers 200');
      await g.screenshot(`auth-mirador-${profile}-restricted`);
      // Before access Mirador still asks for the restricted image's tiles and thumbnail: those 401s are the only errors.
      g.assertClean(`${profile} restricted`, [/status of 401/, /Tile %s failed to load/]);
      await g.close();
    });

    it(`${profile}: a degraded object is degraded for a guest, full after access, degraded again after logout`, async () => {
      const g = await openMirador(object(profile, 'degraded'));
      const { page } = g;
      // The guest: images of the degraded service only (200 px of 600: scale factor 3 or more), painted.
      await waitUntil('degraded tiles', () => tiles(g).some((t) => t.service === 'degraded' && t.status === 200), 30_000);
      await waitUntil('the degraded image painted', async () => (await paintedShare(await mainCanvas(page))) > 0.2, 30_000);
      const guest = tiles(g);
      assert.ok(guest.every((t) => t.service === 'degraded' && t.scale >= 3 && t.status === 200), `a guest gets degraded tiles only: ${JSON.stringify(guest)}`);
      await g.screenshot(`auth-mirador-${profile}-degraded-guest`);

      await gainAccess(g, profile);
      const granted = g.responses.length;
      await fullResolution(g, granted);
      assert.deepEqual(tiles(g, granted).filter((t) => t.status !== 200 || t.service !== 'full'), [], 'after access: the full service only, every tile 200');
      await g.screenshot(`auth-mirador-${profile}-degraded-full`);

      // Logout: Mirador opens the logout service in a window and asks for the image again.
      const [logout] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button', { name: 'Log out' }).click()]);
      await logout.waitForLoadState();
      assert.match(await logout.locator('h1').textContent() ?? '', /Logged out/);
      await logout.close();
      const loggedOut = g.responses.length;
      await waitUntil('degraded tiles again', () => tiles(g, loggedOut).some((t) => t.service === 'degraded' && t.status === 200), 30_000);
      await waitUntil('the degraded image painted again', async () => (await paintedShare(await mainCanvas(page))) > 0.2, 30_000);
      assert.deepEqual(tiles(g, loggedOut).filter((t) => t.service === 'full'), [], 'no full-resolution tile after logout');
      const direct = await page.evaluate(async (url) => (await fetch(url)).status, `${base}/iiif/3/${encodeURIComponent(pageOf(object(profile, 'degraded')))}/full/max/0/default.jpg`);
      assert.ok(direct === 200, 'max is the degraded size for a guest');
      const full = await page.evaluate(async (url) => (await fetch(url)).status, `${base}/iiif/3/${encodeURIComponent(pageOf(object(profile, 'degraded')))}/full/600,/0/default.jpg`);
      assert.equal(full, 401, 'the session ended: full resolution is refused');
      await g.screenshot(`auth-mirador-${profile}-degraded-logout`);
      g.assertClean(`${profile} degraded`, [/status of 401 .*full\/600,/]);
      await g.close();
    });
  }

  it('Auth 2.0 only: the viewer page runs probe → access window → token → probe itself, then Mirador shows full resolution', async () => {
    // A server that speaks only Auth 2.0, simulated by removing the 1.0 services from what the page receives.
    const g = await GuardedPage.open(browser, base);
    const { page } = g;
    await page.route(/\/iiif\/(manifest\/.*|3\/[^/]+\/info\.json)$/, async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, json: withoutAuth1(await response.json()) });
    });
    await page.goto(`${base}/viewer/mirador?manifest=${encodeURIComponent(`${base}/iiif/manifest/${object('login', 'restricted')}`)}`);
    const panel = page.getByRole('region', { name: 'Access' });
    await panel.getByRole('heading', { name: 'This image is restricted' }).waitFor();
    assert.equal(await page.locator('#viewer canvas').count(), 0, 'Mirador waits for the flow');
    const probe = `${base}/iiif/auth/2/probe/${encodeURIComponent(pageOf(object('login', 'restricted')))}`;
    await useAccessWindow(page, panel.getByRole('button', { name: 'Log in' }), 'login');
    await waitUntil('the probe asked again', () => g.responses.filter((r) => r.url() === probe).length >= 2);
    assert.ok(g.responses.some((r) => r.url().startsWith(`${base}/iiif/auth/2/token/login?`)), 'the 2.0 token service was asked (in the iframe)');
    await fullResolution(g, 0);
    assert.equal(await panel.isHidden(), true, 'the prompt is gone');
    assert.equal(await page.getByText('Log in to see this image').count(), 0, 'Mirador shows no 1.0 prompt: it saw no 1.0 service');
    await g.screenshot('auth-mirador-auth2-only');
    g.assertClean('Auth 2.0 only');
    await g.close();
  });
});

/** A IIIF document without its Auth 1.0 services (and their context). */
function withoutAuth1(value: unknown): unknown {
  const auth1 = (item: unknown): boolean =>
    item === 'http://iiif.io/api/auth/1/context.json' || (typeof item === 'object' && item !== null && String((item as { profile?: unknown }).profile).startsWith('http://iiif.io/api/auth/1/'));
  if (Array.isArray(value)) return value.filter((item) => !auth1(item)).map(withoutAuth1);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutAuth1(v)]));
}
