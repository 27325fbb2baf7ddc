import { nativeAddon, type NativeBinding } from '../../src/imaging/native.js';
import type { NativeFeatures } from '../../scripts/native-features.mjs';

/** The addon's functions each build feature promises (see native/binding.gyp and native/src/addon.cc). */
export const PROMISED: Record<keyof NativeFeatures, (keyof NativeBinding)[]> = {
  turbojpeg: ['cropJpeg', 'cropJpegInPlace', 'cropJpegTransform', 'upscaleBicubic'],
  jpeglib: ['decodeJpegTiles', 'finishPixels'],
  openjpeg: ['decodeJp2', 'openjpegVersion', 'Jp2Encoder', 'makeFifo'],
  libtiff: ['decodeTiffRgba', 'libtiffVersion'],
  lcms2: ['jp2ColourManagement'],
};

const PACKAGES: Record<keyof NativeFeatures, string> = {
  turbojpeg: 'libturbojpeg0-dev',
  jpeglib: 'libjpeg62-turbo-dev',
  openjpeg: 'libopenjp2-7-dev',
  libtiff: 'libtiff-dev',
  lcms2: 'liblcms2-dev',
};

/**
 * The native addon with a feature's functions, for a suite that tests them: throws, failing the
 * suite rather than skipping it, when the addon lacks them, saying what to install.
 */
export function requireNative(feature: keyof NativeFeatures): NativeBinding {
  const { binding, reason } = nativeAddon();
  const lacking = PROMISED[feature].filter((name) => binding?.[name] === undefined);
  if (binding && lacking.length === 0) return binding;
  const what = binding ? `the native addon has no ${lacking.join(', ')}` : `the native addon is ${reason}`;
  throw new Error(`${what}: this suite needs its ${feature} feature (install ${PACKAGES[feature]}, then npm rebuild; npm test does both as root)`);
}
