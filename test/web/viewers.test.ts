import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page, Response } from 'playwright-core';
import { tempDir } from '../helpers/server.js';
import { GuardedPage, mainCanvas, paintedShare, serveToBrowser, waitUntil, type BrowserFixture } from './browser.js';
import { convertCorpus, MAP_PAGE } from './corpus.js';

/** Waits until every thumbnail of the page has loaded (they load lazily). */
async function thumbnailsLoaded(page: Page): Promise<void> {
  await waitUntil('the thumbnails to load', () =>
    page.locator('img.thumb').evaluateAll((images) => images.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0)),
  );
}

/** Image API tile requests: a region other than `full`, so the viewer is deep-zooming, not showing a thumbnail. */
const isTile = (response: Response): boolean => /\/iiif\/3\/[^/]+\/\d+,\d+,\d+,\d+\/\d+,\d+\/0\/default\.jpg$/.test(new URL(response.url()).pathname);

/** The scale factor of a tile request: region width over output width (1 is full resolution). */
function scaleFactor(response: Response): number {
  const [, region, size] = new URL(response.url()).pathname.match(/\/(\d+,\d+,\d+,\d+)\/(\d+,\d+)\/0\/default\.jpg$/)!;
  return Math.round(Number(region!.split(',')[2]) / Number(size!.split(',')[0]));
}

describe('web pages and viewers in Chromium: home page, Mirador, Universal Viewer, OpenSeadragon', () => {
  let cleanup: () => Promise<void>;
  let fixture: BrowserFixture;
  let server: BrowserFixture['server'];
  let browser: Browser;
  let base: string;
  const manifest = (id: string): string => `${base}/iiif/manifest/${id}`;
  const open = async (path: string, viewport?: { width: number; height: number }): Promise<GuardedPage> => {
    const guarded = await GuardedPage.open(browser, base, viewport);
    await guarded.page.goto(`${base}${path}`);
    return guarded;
  };

  before(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir('vitrine-web-'));
    fixture = await serveToBrowser(async () => (await convertCorpus(dir)).out);
    ({ browser, server } = fixture);
    base = server.url;
  });
  after(async () => {
    await fixture?.close();
    await cleanup?.();
  });

  it('the home page lists the top collection; browsing reaches objects with thumbnails, label, page count and links', async () => {
    const g = await open('/');
    const { page } = g;
    assert.equal(await page.locator('h1').textContent(), 'All objects');
    const titles = async (): Promise<string[]> => (await page.locator('.card-title').allTextContents()).map((t) => t.trim());
    assert.deepEqual(await titles(), ['Fonds A', 'Maps', 'Odd one', 'plain']);
    await thumbnailsLoaded(page);
    await g.screenshot('home', { fullPage: true });

    await page.getByRole('link', { name: 'Fonds A' }).click();
    await page.getByRole('link', { name: 'Box 1' }).click();
    await page.waitForURL(/\/browse\/Fonds-A\/Box-1$/);
    assert.deepEqual(await titles(), ['Box 1', 'Letters of Jane Doe', 'Ledger']);
    assert.deepEqual(await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('listitem').allTextContents(), ['All objects', 'Fonds A', 'Box 1']);

    const card = page.locator('.card', { has: page.getByRole('heading', { name: 'Letters of Jane Doe' }) });
    assert.equal((await card.locator('.meta').textContent())?.trim(), '3 pages');
    const url = manifest('Fonds-A/Box-1/Folder-2');
    const href = (name: string | RegExp) => card.getByRole('link', { name }).getAttribute('href');
    assert.equal(await href(/^Mirador/), `${base}/viewer/mirador?manifest=${encodeURIComponent(url)}`);
    assert.equal(await href(/^Universal Viewer/), `${base}/viewer/uv?manifest=${encodeURIComponent(url)}`);
    assert.equal(await href(/^Manifest/), url);
    // The IIIF drag-and-drop link: the manifest's URL with itself as `manifest`, and the IIIF logo.
    const dnd = card.getByRole('link', { name: /IIIF drag-and-drop/ });
    assert.equal(await dnd.getAttribute('href'), `${url}?manifest=${url}`);
    assert.equal(await dnd.locator('svg.iiif-logo').count(), 1);
    const dropped = await fetch((await dnd.getAttribute('href'))!);
    assert.equal(((await dropped.json()) as { id: string }).id, url, 'the drag-and-drop URL serves the manifest');

    // Pictures: every thumbnail loaded, with alt text naming the object.
    await thumbnailsLoaded(page);
    assert.deepEqual(await page.locator('.object img.thumb').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('alt'))), [
      'First page of Box 1',
      'First page of Letters of Jane Doe',
      'First page of Ledger',
    ]);
    assert.ok(g.imageResponses().length >= 3 && g.imageResponses().every((r) => r.status() === 200));
    await g.screenshot('collection');
    g.assertClean('home page');
    await g.close();
  });

  it('is usable with the keyboard and landmarks, and fits a phone screen', async () => {
    const g = await open('/browse/Fonds-A/Box-1', { width: 390, height: 844 });
    const { page } = g;
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow} px too wide)`);
    await thumbnailsLoaded(page);
    await g.screenshot('collection-phone');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main', 'the skip link moves focus to the content');
    for (const role of ['banner', 'main', 'search'] as const) assert.equal(await page.getByRole(role).count(), 1, `one ${role} landmark`);
    assert.equal(await page.getByRole('searchbox', { name: 'Search objects by label' }).count(), 1, 'the search box has a label');
    // Tab from the content: the breadcrumb, then the first object's links (its thumbnail link only repeats them).
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'All objects');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Fonds A');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Mirador: Box 1', 'links name their object');
    g.assertClean('home page on a phone');
    await g.close();
  });

  it('searches labels in every collection, and typing filters the page at once', async () => {
    const g = await open('/?q=letters');
    const { page } = g;
    assert.deepEqual(await page.locator('.card-title').allTextContents(), ['Letters of Jane Doe']);
    assert.match((await page.locator('.meta').first().textContent()) ?? '', /3 pages · in Fonds A › Box 1/);
    await page.goto(`${base}/browse/Fonds-A/Box-1`);
    await page.getByRole('searchbox').fill('ledg');
    assert.deepEqual(await page.locator('.card-title:visible').allTextContents(), ['Ledger']);
    assert.equal(await page.getByRole('status').first().textContent(), '1 of 3 shown on this page.');
    await page.getByRole('searchbox').press('Enter');
    await page.waitForURL(/\?q=ledg$/);
    assert.deepEqual(await page.locator('.card-title').allTextContents(), ['Ledger']);
    g.assertClean('search');
    await g.close();
  });

  for (const { viewer, name, object } of [
    { viewer: 'mirador', name: 'Mirador', object: 'Fonds-A/Box-1/Folder-2' },
    // Folder 2's sidecar gives a provider logo on another host, which UV shows: a manifest's own links are not the viewer's doing.
    { viewer: 'uv', name: 'Universal Viewer', object: 'Fonds-A/Box-1/Folder-3' },
  ]) {
    it(`${name} loads a manifest, fetches tiles that answer 200 and paints the image`, async () => {
      const g = await open(`/viewer/${viewer}?manifest=${encodeURIComponent(manifest(object))}`);
      const { page } = g;
      await waitUntil(`${name} to request tiles`, () => g.responses.filter(isTile).length >= 2, 30_000);
      const canvas = await mainCanvas(page);
      let share = 0;
      await waitUntil(`${name} to paint the image`, async () => (share = await paintedShare(canvas)) > 0.1, 30_000);
      const tiles = g.responses.filter(isTile);
      assert.deepEqual(tiles.filter((r) => r.status() !== 200).map((r) => `${r.status()} ${r.url()}`), [], 'every tile answers 200');
      assert.ok(tiles.every((r) => r.url().startsWith(`${base}/iiif/3/`)));
      assert.ok(g.responses.some((r) => r.url() === manifest(object) && r.status() === 200), 'the manifest was loaded');
      assert.match(await page.title(), new RegExp(`— ${name} — Vitrine$`), 'the tab names the object');
      await g.screenshot(viewer);
      g.assertClean(name);
      assert.ok(share > 0.1, `${(share * 100).toFixed(0)}% of the viewer painted`);
      await g.close();
    });
  }

  it('OpenSeadragon deep-zooms into one image: tiles of a deeper level are fetched', async () => {
    const info = `${base}/iiif/3/${encodeURIComponent(MAP_PAGE)}/info.json`;
    const g = await open(`/viewer/openseadragon?image=${encodeURIComponent(info)}`);
    const { page } = g;
    const canvas = await mainCanvas(page);
    await waitUntil('OpenSeadragon to paint the image', async () => (await paintedShare(canvas)) > 0.3, 30_000);
    const before = Math.min(...g.responses.filter(isTile).map(scaleFactor));
    assert.ok(before > 1, `the whole image is shown from a reduced level first (scale factor ${before})`);
    await g.screenshot('openseadragon');

    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 10; i++) await page.mouse.wheel(0, -240);
    await waitUntil('tiles of a deeper level', () => g.responses.filter(isTile).some((r) => scaleFactor(r) < before), 30_000);
    const deeper = g.responses.filter((r) => isTile(r) && scaleFactor(r) < before);
    await waitUntil('the deeper tiles to arrive', () => Promise.all(deeper.map((r) => r.finished())).then(() => true));
    assert.deepEqual(deeper.filter((r) => r.status() !== 200).map((r) => r.url()), [], 'deeper tiles answer 200');
    await waitUntil('the zoomed view to be painted', async () => (await paintedShare(canvas)) > 0.3, 30_000);
    await g.screenshot('openseadragon-zoomed');
    g.assertClean('OpenSeadragon');
    await g.close();
  });

  it('says clearly when a manifest cannot be loaded, in Mirador and in UV', async () => {
    for (const viewer of ['mirador', 'uv']) {
      const missing = manifest('no/such/object');
      const g = await open(`/viewer/${viewer}?manifest=${encodeURIComponent(missing)}`);
      const alert = g.page.getByRole('alert');
      await alert.waitFor();
      assert.match((await alert.textContent()) ?? '', /The manifest could not be loaded.*answered 404/s);
      assert.equal(await g.page.locator('#viewer').isHidden(), true, 'no empty viewer is left on the page');
      await g.screenshot(`${viewer}-missing-manifest`);
      // The 404 itself is the only error the browser reports.
      g.assertClean(`${viewer} without its manifest`, [/status of 404 .*\/iiif\/manifest\/no\/such\/object/]);
      await g.close();
    }
  });
});
