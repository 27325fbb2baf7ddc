import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { runConversion } from '../../src/pipeline/run.js';
import { tempDir } from '../helpers/server.js';
import { GuardedPage, mainCanvas, serveToBrowser, waitUntil, type BrowserFixture } from '../web/browser.js';

/**
 * A two-page book whose pages are grey with every word a white rectangle at the box its ALTO file
 * gives: a search highlight painted over a word tints white pixels, one that strays tints grey ones.
 * "gamma" is on both pages, with a box of another shape on each (the shape tells which is shown).
 */
const PAGE = { width: 600, height: 400 };
const GREY = 128;
type Box = { x: number; y: number; w: number; h: number };
const WORDS: Record<string, { text: string; box: Box }[]> = {
  'p-001': [
    { text: 'alpha', box: { x: 40, y: 60, w: 120, h: 40 } },
    { text: 'beta', box: { x: 200, y: 60, w: 100, h: 40 } },
    { text: 'gamma', box: { x: 340, y: 60, w: 160, h: 40 } },
  ],
  'p-002': [
    { text: 'delta', box: { x: 40, y: 200, w: 120, h: 50 } },
    { text: 'gamma', box: { x: 220, y: 200, w: 300, h: 50 } },
    { text: 'epsilon', box: { x: 40, y: 300, w: 200, h: 40 } },
  ],
};
const GAMMA_1 = WORDS['p-001']![2]!.box;
const GAMMA_2 = WORDS['p-002']![1]!.box;

const alto = (words: { text: string; box: Box }[]): string => `<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v3#"><Layout><Page WIDTH="${PAGE.width}" HEIGHT="${PAGE.height}"><PrintSpace><TextBlock>
${words.map((w) => `<TextLine><String CONTENT="${w.text}" HPOS="${w.box.x}" VPOS="${w.box.y}" WIDTH="${w.box.w}" HEIGHT="${w.box.h}"/></TextLine>`).join('\n')}
</TextBlock></PrintSpace></Page></Layout></alto>
`;

async function writeBook(masters: string): Promise<void> {
  await mkdir(path.join(masters, 'book'), { recursive: true });
  for (const [name, words] of Object.entries(WORDS)) {
    const white = words.map((w) => ({ input: { create: { width: w.box.w, height: w.box.h, channels: 3 as const, background: '#ffffff' } }, left: w.box.x, top: w.box.y }));
    await sharp({ create: { ...PAGE, channels: 3, background: { r: GREY, g: GREY, b: GREY } } })
      .composite(white)
      .tiff({ compression: 'lzw' })
      .toFile(path.join(masters, 'book', `${name}.tif`));
    await writeFile(path.join(masters, 'book', `${name}.alto.xml`), alto(words));
  }
}

/**
 * Mirador paints search hits over the picture at 30 %: the selected one #ffff00, the others
 * #00bfff. What that gives over a word (white) and over the page (grey).
 */
const SELECTED = { onWord: [255, 255, 178], onPage: [166, 166, 90] } as const;
const OTHER_HIT = { onWord: [178, 236, 255], onPage: [90, 147, 166] } as const;
type Highlight = typeof SELECTED | typeof OTHER_HIT;

/** Pixels of the viewer's picture by what paints them: the highlight over a word (with their bounds) or over the page, and white words. */
interface Painted {
  readonly onWord: { count: number; x0: number; y0: number; x1: number; y1: number };
  readonly onPage: number;
  readonly whiteWord: number;
}

async function painted(element: Locator, colour: Highlight): Promise<Painted> {
  const { data, info } = await sharp(await element.screenshot()).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const near = (i: number, [r, g, b]: readonly number[]): boolean => Math.abs(data[i]! - r!) <= 14 && Math.abs(data[i + 1]! - g!) <= 14 && Math.abs(data[i + 2]! - b!) <= 14;
  const onWord = { count: 0, x0: Infinity, y0: Infinity, x1: -1, y1: -1 };
  let onPage = 0;
  let whiteWord = 0;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const i = (y * info.width + x) * 3;
      if (near(i, colour.onWord)) {
        onWord.count += 1;
        onWord.x0 = Math.min(onWord.x0, x);
        onWord.y0 = Math.min(onWord.y0, y);
        onWord.x1 = Math.max(onWord.x1, x);
        onWord.y1 = Math.max(onWord.y1, y);
      } else if (near(i, colour.onPage)) onPage += 1;
      else if (near(i, [255, 255, 255])) whiteWord += 1;
    }
  }
  return { onWord, onPage, whiteWord };
}

/**
 * Waits until a hit is painted over a word, and checks that the painted rectangle is that word's
 * box: its shape (each gamma has its own), filled, nothing of the page around it tinted, the other
 * words left white.
 */
async function assertHighlightOn(page: Page, box: Box, colour: Highlight, what: string): Promise<void> {
  const canvas = await mainCanvas(page);
  let seen: Painted | undefined;
  await waitUntil(`${what}: the highlight painted`, async () => {
    seen = await painted(canvas, colour);
    return seen.onWord.count > 500;
  }, 30_000);
  const { onWord: hit, onPage, whiteWord } = seen!;
  const width = hit.x1 - hit.x0 + 1;
  const height = hit.y1 - hit.y0 + 1;
  const ratio = width / height;
  assert.ok(Math.abs(ratio - box.w / box.h) < 0.4, `${what}: highlight ${width}×${height} px (${ratio.toFixed(2)}:1), the word's box is ${box.w}×${box.h}`);
  assert.ok(hit.count / (width * height) > 0.9, `${what}: ${hit.count} of ${width * height} pixels of the box highlighted`);
  assert.ok(onPage < 0.05 * hit.count, `${what}: ${onPage} page pixels under the highlight, ${hit.count} word pixels`);
  assert.ok(whiteWord > 0.2 * hit.count, `${what}: the other words (${whiteWord} px) are not highlighted`);
}

describe('Mirador in Chromium: Content Search 1.0 from our manifest, hits listed and highlighted on the page', () => {
  let cleanup: () => Promise<void>;
  let fixture: BrowserFixture;
  let browser: Browser;
  let base: string;
  const manifest = (): string => `${base}/iiif/manifest/book`;
  const canvasId = (page: string): string => `${base}/iiif/canvas/book/${page}`;

  before(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir('vitrine-mirador-search-'));
    fixture = await serveToBrowser(async () => {
      const masters = path.join(dir, 'masters');
      const out = path.join(dir, 'out');
      await writeBook(masters);
      const report = await runConversion({ masters, out, workers: 1, dryRun: false, settings: { format: 'ptiff', quality: 90, tileSize: 256, maxInputPixels: 100_000_000 } });
      assert.equal(report.totals.failed, 0, JSON.stringify(report.failed));
      return out;
    });
    ({ browser } = fixture);
    base = fixture.server.url;
  });
  after(async () => {
    await fixture?.close();
    await cleanup?.();
  });

  it('the search panel lists the hits of a word; clicking one shows its page with the box painted over the word', async () => {
    const g = await GuardedPage.open(browser, base);
    const { page } = g;
    await page.goto(`${base}/viewer/mirador?manifest=${encodeURIComponent(manifest())}`);
    await page.getByRole('button', { name: /toggle sidebar/i }).click();
    await page.getByRole('tab', { name: /search/i }).click();
    const box = page.getByRole('textbox', { name: /search/i }).or(page.getByRole('combobox', { name: /search/i })).first();
    await box.fill('gamma');
    await box.press('Enter');
    const panel = page.getByRole('complementary', { name: 'Search' });
    await panel.getByText('1 of 2', { exact: true }).waitFor();
    assert.ok(g.responses.some((r) => r.url() === `${base}/iiif/search/1/book?q=gamma` && r.status() === 200), 'Mirador asked our Search 1.0 service');
    const first = panel.getByRole('button', { name: /alpha beta\s*gamma/ }).or(panel.getByRole('listitem').filter({ hasText: /alpha beta\s*gamma/ }));
    const second = panel.getByRole('button', { name: /delta\s*gamma\s*epsilon/ });
    assert.equal(await first.count(), 1, 'the hit on page 1 is listed');
    assert.equal(await second.count(), 1, 'the hit on page 2 is listed');
    // Mirador selects the first hit itself: page 1, its gamma painted.
    await assertHighlightOn(page, GAMMA_1, SELECTED, 'the first hit');
    await g.screenshot('mirador-search-hits');
    await second.click();
    await panel.getByText('2 of 2', { exact: true }).waitFor();
    await assertHighlightOn(page, GAMMA_2, SELECTED, 'after clicking the second hit');
    await g.screenshot('mirador-search-highlight');
    g.assertClean('Mirador search');
    await g.close();
  });

  it('the home page searches the text of every page; a result opens Mirador at that page with the word highlighted', async () => {
    const g = await GuardedPage.open(browser, base);
    const { page } = g;
    await page.goto(`${base}/`);
    assert.equal(await page.getByRole('searchbox', { name: 'Search objects by label' }).count(), 1, 'the label search stays');
    await page.getByRole('searchbox', { name: 'Search the text of every page' }).fill('gamma');
    await page.getByRole('button', { name: 'Search text' }).click();
    await page.waitForURL(/\/search\?q=gamma$/);
    assert.equal((await page.getByRole('status').textContent())?.trim(), 'Found on 2 pages.');
    const results = page.locator('.text-hit');
    assert.deepEqual(await results.locator('h2').allTextContents(), ['book, page 1', 'book, page 2']);
    assert.deepEqual(await results.locator('.snippet').allTextContents(), ['…alpha beta gamma…', '…delta gamma epsilon…']);
    assert.deepEqual(await results.locator('mark').allTextContents(), ['gamma', 'gamma']);
    await g.screenshot('text-search-results', { fullPage: true });
    await results.nth(1).getByRole('link', { name: /^Open this page in Mirador/ }).click();
    await page.waitForURL((url) => url.pathname === '/viewer/mirador' && url.searchParams.get('canvas') === canvasId('p-002'));
    // At page 2 (not the first hit's page), its hit painted over its gamma.
    await assertHighlightOn(page, GAMMA_2, OTHER_HIT, 'Mirador opened from the results');
    await g.screenshot('text-search-mirador');
    g.assertClean('text search to Mirador');
    await g.close();
  });
});
