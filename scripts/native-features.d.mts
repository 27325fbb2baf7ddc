// Types of native-features.mjs, for the tests that import it.
export interface NativeFeatures {
  turbojpeg: boolean;
  jpeglib: boolean;
  /** OpenJPEG's include folder, '' without it. */
  openjpeg: string;
  /** libtiff's headers: old-style JPEG TIFFs decoded through its RGBA interface. */
  libtiff: boolean;
  /** Little CMS's headers: JPEG 2000 ICC profiles and CIELab applied (with OpenJPEG). */
  lcms2: boolean;
}
export interface BuildRecord {
  built: boolean;
  features: NativeFeatures;
  reason: string;
}
export const FEATURES_FILE: string;
export function headerFeatures(): NativeFeatures;
export function builtFeatures(): BuildRecord | undefined;
export function missingFromBuild(now?: NativeFeatures, record?: BuildRecord | undefined): (keyof NativeFeatures)[];
