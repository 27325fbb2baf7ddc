import { cpus } from 'node:os';
import { nativeAddon } from '../imaging/native.js';

/**
 * Free memory each allocator heap keeps for the next page: more than one page's libvips buffers
 * (~30 MB for a 27 MP master), well under the batch's memory bound.
 */
export const KEEP_FREED_BYTES = 256 << 20;

/**
 * Tunes the process's allocator for converting page after page (vitrine convert, ingest workers):
 * libvips allocates and zero-fills its buffers afresh for every page, and glibc by default hands
 * each one new memory from the kernel (a page fault per 4 KB). Kept and reused instead, a batch of
 * 27 MP masters took 3–7 % less CPU and a fifth fewer page faults, and peaked no higher.
 * Arenas: one per core, as many as there are libvips threads at once. Not for the server, which
 * gives memory back after bursts of renders (trimMemory). Returns whether the settings took.
 */
export function keepFreedMemoryForConversion(): boolean {
  return nativeAddon().binding?.keepFreedMemory?.(Math.max(2, cpus().length), KEEP_FREED_BYTES) ?? false;
}
