import type { ConversionSettings } from './convert.js';

/**
 * What `vitrine convert` uses when given no option. The ingest service converts the same way, so
 * either sees the other's pages as up to date. (A module of its own: the CLI reads it without
 * loading sharp.)
 */
export const DEFAULT_SETTINGS: ConversionSettings = { format: 'ptiff', quality: 85, tileSize: 256, maxInputPixels: 2_000_000_000 };
