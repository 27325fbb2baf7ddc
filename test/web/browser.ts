import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page, type Response } from 'playwright-core';
import sharp from 'sharp';
import { startServer, type RunningServer } from '../helpers/server.js';

/** Debian's Chromium (scripts/install-system-deps.sh installs it); playwright-core brings no browser. */
export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots the tests take, for a person to look at (gitignored). */
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/web');

export function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (scripts/install-system-deps.sh does)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}

/**
 * A browser page that may only talk to `origin`: any request elsewhere is aborted and recorded,
 * and so is every console error and uncaught page error, for the test to assert there were none.
 */
export class GuardedPage {
  readonly foreignRequests: string[] = [];
  readonly consoleErrors: string[] = [];
  readonly pageErrors: string[] = [];
  readonly responses: Response[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  static async open(browser: Browser, origin: string, viewport = { width: 1280, height: 800 }): Promise<GuardedPage> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const guarded = new GuardedPage(context, page);
    const allowed = new URL(origin).origin;
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (new URL(url).origin === allowed) return route.continue();
      guarded.foreignRequests.push(url);
      return route.abort('blockedbyclient');
    });
    page.on('console', (message) => {
      if (message.type() === 'error') guarded.consoleErrors.push(`${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => guarded.pageErrors.push(error.stack ?? error.message));
    page.on('response', (response) => guarded.responses.push(response));
    return guarded;
  }

  /** Responses of Image API image requests (not info.json) so far. */
  imageResponses(): Response[] {
    return this.responses.filter((r) => /\/iiif\/[23]\/[^/]+\/[^/]+\/[^/]+\/[^/]+\/[^/]+\.(jpg|png|webp)$/.test(new URL(r.url()).pathname));
  }

  /** Asserts the page reached no other host and logged no error. */
  assertClean(what: string, allowedConsoleErrors: RegExp[] = []): void {
    assert.deepEqual(this.foreignRequests, [], `${what}: requests left the server`);
    assert.deepEqual(this.pageErrors, [], `${what}: uncaught errors in the page`);
    const errors = this.consoleErrors.filter((e) => !allowedConsoleErrors.some((re) => re.test(e)));
    assert.deepEqual(errors, [], `${what}: console errors`);
  }

  async screenshot(name: string, options: { fullPage?: boolean } = {}): Promise<string> {
    await mkdir(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${name}.png`);
    await this.page.screenshot({ path: file, fullPage: options.fullPage ?? false });
    return file;
  }

  close(): Promise<void> {
    return this.context.close();
  }
}

/**
 * How much of an element's picture is not its background: the share of pixels that differ
 * (by more than a small tolerance on any channel) from the most common colour.
 */
export async function paintedShare(element: Locator): Promise<number> {
  const png = await element.screenshot();
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const counts = new Map<number, number>();
  for (let i = 0; i < data.length; i += 3) {
    // Quantised, so the background's anti-aliasing or JPEG noise still counts as one colour.
    const key = ((data[i]! >> 3) << 10) | ((data[i + 1]! >> 3) << 5) | (data[i + 2]! >> 3);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const background = [...counts.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const [r, g, b] = [(background >> 10) << 3, ((background >> 5) & 31) << 3, (background & 31) << 3];
  let painted = 0;
  for (let i = 0; i < data.length; i += 3) {
    if (Math.abs(data[i]! - r) > 24 || Math.abs(data[i + 1]! - g) > 24 || Math.abs(data[i + 2]! - b) > 24) painted += 1;
  }
  return painted / (info.width * info.height);
}

/** The largest canvas in the viewer: the image, not a navigator or a thumbnail strip. */
export async function mainCanvas(page: Page): Promise<Locator> {
  const canvases = page.locator('#viewer canvas');
  await waitUntil('a canvas in the viewer', async () => (await canvases.count()) > 0);
  const areas = await canvases.evaluateAll((list) => list.map((c) => c.getBoundingClientRect().width * c.getBoundingClientRect().height));
  return canvases.nth(areas.indexOf(Math.max(...areas)));
}

/** Polls `condition` until it holds (no fixed sleeps); fails with `what` after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A real server over a converted data folder and a browser: what each browser suite starts once. */
export interface BrowserFixture {
  readonly browser: Browser;
  readonly server: RunningServer;
  close(): Promise<void>;
}

/** Launches the browser while `prepare` writes the data folder (it returns it), then starts the server over it. */
export async function serveToBrowser(prepare: () => Promise<string>): Promise<BrowserFixture> {
  const launched = launch();
  const data = await prepare().catch(async (error: unknown) => {
    await (await launched).close();
    throw error;
  });
  const browser = await launched;
  const server = await startServer(undefined, { data });
  return {
    browser,
    server,
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}
