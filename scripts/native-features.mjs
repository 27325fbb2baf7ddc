// What the native addon gets from this machine: each optional library whose headers are installed
// adds functions (see src/imaging/native.ts). Shared by build-native.mjs (which records what it
// built with in native/build/features.json), test-prerequisites.mjs (which rebuilds when headers
// appeared after the build) and the test that checks the loaded addon keeps the record's promise.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

// Debian puts some headers (tiffio.h) under the multiarch folder.
const INCLUDE_DIRS = ['/usr/include', '/usr/include/x86_64-linux-gnu', '/usr/include/aarch64-linux-gnu', '/usr/local/include', '/opt/homebrew/include'];
const headerDir = (header) => INCLUDE_DIRS.find((dir) => existsSync(path.join(dir, header)));

/** The addon's build record. */
export const FEATURES_FILE = path.resolve(import.meta.dirname, '../native/build/features.json');

/**
 * The features a build here would have: turbojpeg (lossless edge-tile crops; without it no addon),
 * jpeglib (region decoding from stored JPEG tiles), openjpeg (JPEG 2000 decoding and encoding; the
 * value is OpenJPEG's include folder, '' without it), libtiff (old-style JPEG TIFFs), lcms2 (JPEG 2000
 * colour: ICC profiles, CIELab).
 */
export function headerFeatures() {
  const openjpeg = headerDir('openjpeg-2.5/openjpeg.h');
  return {
    turbojpeg: headerDir('turbojpeg.h') !== undefined,
    jpeglib: headerDir('jpeglib.h') !== undefined,
    openjpeg: openjpeg ? path.join(openjpeg, 'openjpeg-2.5') : '',
    libtiff: headerDir('tiffio.h') !== undefined,
    lcms2: headerDir('lcms2.h') !== undefined,
  };
}

/** The build record ({ built, features, reason }), or undefined when there is none (never built, or built before records). */
export function builtFeatures() {
  try {
    return JSON.parse(readFileSync(FEATURES_FILE, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The features `now` has that the build record lacks (all of them when there is no record of a built
 * addon); none without turbojpeg.h, since no addon can be built then.
 */
export function missingFromBuild(now = headerFeatures(), record = builtFeatures()) {
  if (!now.turbojpeg) return [];
  const built = record?.built ? record.features : {};
  return Object.keys(now).filter((feature) => Boolean(now[feature]) && !built[feature]);
}
