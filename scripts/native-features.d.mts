// Types of native-features.mjs, for the tests that import it.
export interface NativeFeatures {
  turbojpeg: boolean;
  jpeglib: boolean;
  /** OpenJPEG's include folder, '' without it. */
  openjpeg: string;
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
