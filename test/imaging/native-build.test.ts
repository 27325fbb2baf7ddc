import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtFeatures, FEATURES_FILE, headerFeatures, missingFromBuild, type NativeFeatures } from '../../scripts/native-features.mjs';
import { chooseJp2Decoder } from '../../src/imaging/jp2/decoder.js';
import { jp2EncoderStatus } from '../../src/imaging/jp2/encode.js';
import { nativeAddon } from '../../src/imaging/native.js';
import { PROMISED } from '../helpers/native.js';

/**
 * The native addon keeps the promise of its build record (native/build/features.json, written by
 * scripts/build-native.mjs): every feature it was built with shows as functions of the loaded
 * addon, and no header installed since is left unused. Without this, a build that silently lost
 * OpenJPEG would turn the JPEG 2000 suites into the WebAssembly fallback's, or into skips.
 */
describe('the native addon and its build record', () => {
  const record = builtFeatures();

  it('was built, with every optional library whose headers are installed', () => {
    assert.ok(record, `${FEATURES_FILE} is missing: the addon was not built by scripts/build-native.mjs (npm ci, npm rebuild)`);
    assert.deepEqual(missingFromBuild(headerFeatures(), record), [], 'headers installed after the build are unused: npm rebuild (npm test does it)');
    if (record.features.turbojpeg) assert.ok(record.built, `the addon should have been built but was not: ${record.reason}`);
  });

  it('loads, and has every function its features promise', () => {
    assert.ok(record?.built, `no built addon on record: ${record?.reason ?? 'no record'}`);
    const { binding, reason } = nativeAddon();
    assert.ok(binding, `the addon was built but ${reason}`);
    for (const feature of Object.keys(PROMISED) as (keyof NativeFeatures)[]) {
      if (!record.features[feature]) continue;
      for (const name of PROMISED[feature]) assert.notEqual(binding[name], undefined, `built with ${feature}, yet the addon has no ${name}`);
    }
  });

  it('with OpenJPEG, serves JPEG 2000 with the native decoder and can write JP2', () => {
    if (!record?.features.openjpeg) return;
    assert.equal(chooseJp2Decoder(nativeAddon().binding).kind, 'native');
    assert.deepEqual(jp2EncoderStatus(), { available: true });
  });

  it('with OpenJPEG and Little CMS, applies JPEG 2000 colour (ICC profiles, CIELab)', () => {
    if (!record?.features.openjpeg || !record.features.lcms2) return;
    assert.equal(nativeAddon().binding?.jp2ColourManagement, true, 'built with lcms2.h, yet the addon does not manage JPEG 2000 colour');
  });
});
