// Preloaded (node --import) into the Vitrine server for the benchmark's "caches off" runs: libvips'
// operation cache, the one cache Vitrine has that could hold pixels of a previous tile request, is
// switched off, as iipsrv's tile cache is with MAX_IMAGE_CACHE_SIZE=0. Not a server option: a
// server has no reason to turn it off.
import sharp from 'sharp';

sharp.cache(false);
