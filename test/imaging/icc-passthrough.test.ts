import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { parseImageRequest } from '../../src/image-api/grammar.js';
import { resolveRequest } from '../../src/image-api/resolve.js';
import { isSrgbProfile } from '../../src/imaging/icc.js';
import { nativeAddon } from '../../src/imaging/native.js';
import { openSource } from '../../src/imaging/open-source.js';
import { findStoredTile, readStoredTile } from '../../src/imaging/passthrough.js';
import { assertConvertedLike, assertServesLike, convertFolder, flavourFolder, type FlavourFolder } from '../helpers/flavour.js';
import { referencePart } from '../helpers/libtiff.js';
import { assertSimilar, decode, fetchBytes, meanAbsDiff, type Pixels } from '../helpers/pixels.js';
import { REFERENCE_PNG, startServer } from '../helpers/server.js';

// A pyramid tagged with a non-sRGB ICC profile (Display P3 here; Adobe RGB or ProPhoto alike), not
// made by vitrine convert: every request must show it converted to sRGB, the zoomed tiles that
// match stored JPEG tiles as well as regions and thumbnails, which libvips converts. Untagged and
// sRGB-tagged pyramids (what vitrine convert writes) keep the stored-tile passthrough.
const run = promisify(execFile);
const TILE = { tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 92 } as const;

async function iccOf(profile: string): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).withIccProfile(profile).jpeg().toBuffer();
  return (await sharp(jpeg).metadata()).icc!;
}

describe('ICC-tagged pyramids', () => {
  let folder: FlavourFolder;
  let reference: Pixels;

  before(async () => {
    folder = await flavourFolder();
    const picture = sharp(REFERENCE_PNG).removeAlpha().resize(1000, 700);
    await picture.clone().withIccProfile('p3').tiff(TILE).toFile(path.join(folder.box, 'p3.tif'));
    await picture.clone().withIccProfile('srgb').tiff(TILE).toFile(path.join(folder.box, 'srgb.tif'));
    await picture.clone().tiff(TILE).toFile(path.join(folder.box, 'untagged.tif'));
    // The reference sRGB conversion: the system's libvips (the vips command, with lcms2), from the
    // stored P3 pixels and their embedded profile.
    const converted = path.join(folder.dir, 'p3-in-srgb.png');
    await run('vips', ['icc_transform', `${path.join(folder.box, 'p3.tif')}[page=0]`, converted, 'srgb', '--embedded']);
    reference = await decode(sharp(await readFile(converted)), 3);
    folder.server = await startServer(folder.box);
  });
  after(async () => folder?.cleanup());

  it('tells sRGB profiles from others by their content', async () => {
    assert.equal(isSrgbProfile(await iccOf('srgb')), true);
    assert.equal(isSrgbProfile(await iccOf('p3')), false);
    // sRGB's primaries with a plain gamma 2.2 curve instead of sRGB's: not sRGB.
    const gamma22 = Buffer.from(await iccOf('srgb'));
    const tags = gamma22.readUInt32BE(128);
    for (let i = 0; i < tags; i++) {
      const at = 132 + i * 12;
      const offset = gamma22.readUInt32BE(at + 4);
      if (gamma22.toString('latin1', at, at + 4) === 'rTRC' && gamma22.toString('latin1', offset, offset + 4) === 'para') {
        gamma22.writeUInt16BE(0, offset + 8); // function type 0: Y = X^g
        gamma22.writeInt32BE(Math.round(2.2 * 65536), offset + 12);
      }
    }
    assert.equal(isSrgbProfile(gamma22), false);
    assert.equal(isSrgbProfile(gamma22.subarray(0, 200)), false, 'cut short');
  });

  it('a zoomed tile that matches a stored tile is in sRGB, like the same area asked as a region', async () => {
    const base = `${folder.server!.url}/iiif/3/p3.tif`;
    // Full resolution: the tile at column 1, row 1; and the level below: tile 0,0 (512 source px).
    for (const [area, size] of [['256,256,256,256', '256,256'], ['0,0,512,512', '256,256']] as const) {
      const tile = await decode((await fetchBytes(`${base}/${area}/${size}/0/default.jpg`)).body, 3);
      const region = await decode((await fetchBytes(`${base}/${area}/${size}/0/default.png`)).body, 3);
      assertSimilar(tile, region, 4, `tile ${area} against the region`);
      const [left, top, width, height] = area.split(',').map(Number) as [number, number, number, number];
      const want = await referencePart(reference, { left, top, width, height }, { width: 256, height: 256 });
      assertSimilar(tile, want, 4, `tile ${area} against the reference sRGB conversion`);
    }
  });

  it('the P3 pyramid is served like the reference conversion (full, reduced, region)', async () => {
    await assertServesLike(folder.server!.url, 'p3.tif', reference, 1.5);
  });

  it('converts to sRGB like the reference, and the derivative keeps the passthrough', async () => {
    const masters = path.join(folder.dir, 'p3-masters');
    await run('mkdir', ['-p', path.join(masters, 'box')]);
    await copyFile(path.join(folder.box, 'p3.tif'), path.join(masters, 'box', 'p3.tif'));
    const out = path.join(folder.dir, 'out');
    const report = await convertFolder(masters, out);
    assert.deepEqual(report.failed, []);
    const derivative = path.join(out, 'images', 'box', 'p3.tif');
    await assertConvertedLike(derivative, reference, 3);
    const source = await openSource(derivative);
    try {
      const request = resolveRequest(parseImageRequest(3, '256,256,256,256', '256,256', '0', 'default.jpg'), source.info, {});
      assert.ok(findStoredTile(source, request), 'the derivative is sRGB (or untagged): its tiles pass through');
    } finally {
      await source.close();
    }
  });

  it('untagged and sRGB-tagged pyramids still answer tiles with the stored bytes; the P3 one does not', async () => {
    const native = nativeAddon().binding;
    for (const [name, passes] of [['untagged.tif', true], ['srgb.tif', true], ['p3.tif', false]] as const) {
      const source = await openSource(path.join(folder.box, name));
      try {
        const request = resolveRequest(parseImageRequest(3, '256,256,256,256', '256,256', '0', 'default.jpg'), source.info, {});
        const stored = findStoredTile(source, request);
        assert.equal(stored !== undefined, passes, name);
        const { body } = await fetchBytes(`${folder.server!.url}/iiif/3/${name}/256,256,256,256/256,256/0/default.jpg`);
        if (stored) assert.ok(body.equals((await readStoredTile(source, stored, native))!), `${name}: the stored bytes`);
        else assert.ok(meanAbsDiff(await decode(body, 3), await referencePart(reference, { left: 256, top: 256, width: 256, height: 256 })) < 3, name);
      } finally {
        await source.close();
      }
    }
  });
});
