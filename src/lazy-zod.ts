import { createRequire } from 'node:module';
import type * as Zod from 'zod';

/** zod's `z`, as the schema builders below receive it. */
export type ZodApi = typeof Zod.z;

const require = createRequire(import.meta.url);

/**
 * zod's `z`, from its CommonJS build: the one copy every module of Vitrine uses (the lazily built
 * schemas below load it with require; an ES import elsewhere would load the package a second time).
 */
export function zod(): ZodApi {
  return (require('zod') as typeof Zod).z;
}

/**
 * A schema built on its first use, with zod loaded then: loading zod and building the schemas costs
 * ~0.1 s of CPU, which a `vitrine convert` of masters without rules or sidecar files need not pay at
 * start-up. zod is loaded with require, synchronously, so the parse functions stay synchronous.
 */
export function lazySchema<T>(build: (z: ZodApi) => T): () => T {
  let built: T | undefined;
  return () => (built ??= build(zod()));
}
