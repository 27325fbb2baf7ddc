/** Summaries of timings, the same in every benchmark. */

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The value below which a fraction `q` of `xs` lies (nearest rank). */
export const quantile = (xs: readonly number[], q: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))]!;

/** The middle value; for an even count the mean of the two middle ones (with two rounds, not the lower of them). */
export const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** "mean 1.23 ms, median 1.10, p95 2.50" */
export const describeMs = (xs: readonly number[]): string =>
  `mean ${mean(xs).toFixed(2)} ms, median ${median(xs).toFixed(2)}, p95 ${quantile(xs, 0.95).toFixed(2)}`;

/** "0.42×": how long Vitrine takes for what the peer does in 1 (or, for rates, how much more it does). */
export const ratio = (ours: number, theirs: number): string => `${(ours / theirs).toFixed(2)}×`;
