import http from 'node:http';
import { readFileSync, openSync, readSync } from 'node:fs';
import { openSource } from './dist/imaging/open-source.js';
import { parseImageRequest } from './dist/image-api/grammar.js';
import { resolveRequest } from './dist/image-api/resolve.js';
import { findStoredTile } from './dist/imaging/passthrough.js';
const src = await openSource('.bench/images/bench.tif');
const fd = openSync('.bench/images/bench.tif', 'r');
const paths = readFileSync(process.env.LIST, 'utf8').trim().split('\n');
const table = new Map();
for (const p of paths) {
  const [, , , , region, size, rot, qf] = p.split('/');
  const t = findStoredTile(src, resolveRequest(parseImageRequest(3, region, size, rot, qf), src.info, {}));
  const g = t.level.jpegTiles;
  table.set(p, { offset: g.offsets[t.index], length: g.byteCounts[t.index] });
}
const prefix = Buffer.alloc(600, 1);
const modified = new Date().toUTCString();
http.createServer((req, res) => {
  const e = table.get(req.url);
  const body = Buffer.allocUnsafe(prefix.length + e.length);
  readSync(fd, body, prefix.length, e.length, e.offset);
  res.writeHead(200, {
  'access-control-allow-origin': '*', 'access-control-expose-headers': 'Link, ETag',
  link: `<http://127.0.0.1:18190/iiif/3/bench.tif${req.url}>;rel="canonical"`,
  etag: '"abcdefghijklmnopqrstuv"', 'last-modified': modified, 'cache-control': 'public, max-age=86400',
  'content-type': 'image/jpeg', 'content-length': body.length });
  res.end(body);
}).listen(18190, '127.0.0.1');
process.on('SIGINT', () => process.exit(0));
