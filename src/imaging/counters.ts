import type { Strategy } from './plan.js';

/**
 * What the image pipeline reports as it works, for the server's metrics. An interface, so imaging
 * never imports a metrics library: the server passes one in, tests and tools pass nothing.
 */
export interface ImagingCounters {
  /** A request answered by `strategy` (after any fallback: a passthrough whose stored tile could not be read is counted as what rendered it). */
  rendered(strategy: Strategy): void;
  /** A source lookup: `hit` when the open source (parsed headers) was reused, else it was opened. */
  sourceLookup(hit: boolean): void;
  /** A JPEG 2000 tile request that went through the block cache: `hit` when its block was already decoded (or being decoded). */
  blockLookup(hit: boolean): void;
}

/** Counts nothing. */
export const NO_COUNTERS: ImagingCounters = {
  rendered: () => undefined,
  sourceLookup: () => undefined,
  blockLookup: () => undefined,
};
