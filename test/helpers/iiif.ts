import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp, { type Sharp } from 'sharp';
import { decode, type Pixels } from './pixels.js';
import { REFERENCE_PNG } from './server.js';

/** A response read whole: status, headers, body bytes. */
export interface Got {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  readonly text: string;
}

/** Fetches without following redirects and reads the body. */
export async function get(url: string, init: RequestInit = {}): Promise<Got> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, body, text: body.toString('utf8') };
}

/** Fetches an image, checks the status and Content-Type, and returns the body with its decoded pixels. */
export async function getImage(url: string, contentType: string): Promise<{ got: Got; pixels: Pixels }> {
  const got = await get(url);
  assert.equal(got.status, 200, `${url} → ${got.status} ${got.text.slice(0, 200)}`);
  assert.equal(got.headers.get('content-type'), contentType, url);
  return { got, pixels: await decode(got.body) };
}

/** Asserts an error status, a plain-text body and (when given) that the message contains `names`. */
export async function expectError(url: string, status: number, names?: string | RegExp): Promise<Got> {
  const got = await get(url);
  assert.equal(got.status, status, `${url} → ${got.status} ${got.text.slice(0, 200)}`);
  assert.ok(!(got.headers.get('content-type') ?? '').startsWith('image/'), `${url}: an error is not an image`);
  if (typeof names === 'string') assert.ok(got.text.includes(names), `${url}: message '${got.text.trim()}' does not name ${names}`);
  else if (names) assert.match(got.text, names, url);
  return got;
}

/** What sharp makes of the reference image with `op` applied, as raw pixels. */
export async function reference(op: (image: Sharp) => Sharp = (image) => image, source = REFERENCE_PNG): Promise<Pixels> {
  return decode(op(sharp(source)));
}

/** Raw pixels back into sharp, for further operations. */
export function toSharp(image: Pixels): Sharp {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 2 | 3 | 4 } });
}

/** The pixel at (x, y) as an array of its samples. */
export function pixelAt(image: Pixels, x: number, y: number): number[] {
  const start = (y * image.width + x) * image.channels;
  return [...image.data.subarray(start, start + image.channels)];
}

/** Left-right mirror of raw pixels, computed here rather than by sharp. */
export function mirrored(image: Pixels): Pixels {
  const { width, height, channels } = image;
  const data = Buffer.alloc(image.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      image.data.copy(data, (y * width + (width - 1 - x)) * channels, (y * width + x) * channels, (y * width + x + 1) * channels);
    }
  }
  return { width, height, channels, data };
}

/** Clockwise rotation of raw pixels by a multiple of 90 degrees, computed here rather than by sharp. */
export function rotated(image: Pixels, degrees: 0 | 90 | 180 | 270): Pixels {
  const { width: w, height: h, channels } = image;
  const turned = degrees === 90 || degrees === 270;
  const width = turned ? h : w;
  const height = turned ? w : h;
  const data = Buffer.alloc(image.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // Where source pixel (x, y) lands.
      const [nx, ny] =
        degrees === 0 ? [x, y] : degrees === 90 ? [h - 1 - y, x] : degrees === 180 ? [w - 1 - x, h - 1 - y] : [y, w - 1 - x];
      image.data.copy(data, (ny * width + nx) * channels, (y * w + x) * channels, (y * w + x + 1) * channels);
    }
  }
  return { width, height, channels, data };
}

/** The samples of one channel. */
export function channel(image: Pixels, index: number): Pixels {
  const data = Buffer.alloc(image.width * image.height);
  for (let i = 0; i < data.length; i++) data[i] = image.data[i * image.channels + index]!;
  return { width: image.width, height: image.height, channels: 1, data };
}

/**
 * A GET with the path sent exactly as given (fetch and URL would normalise `..` and `\`), for
 * traversal attempts and fuzzing; with `timeoutMs`, a server that does not answer in time fails it.
 */
export function rawGet(
  base: string,
  rawPath: string,
  timeoutMs?: number,
): Promise<{ status: number; contentType: string; headers: IncomingHttpHeaders; body: Buffer }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path: rawPath, method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${rawPath}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const run = promisify(execFile);

/**
 * A self-signed key and certificate for 127.0.0.1 in `dir`, made with openssl; throws (failing the
 * test, not skipping it) when openssl cannot be run.
 */
export async function selfSignedCertificate(dir: string): Promise<{ key: string; cert: string }> {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', key, '-out', cert,
    ]);
  } catch (error) {
    throw new Error(`openssl is needed to make a test certificate (Debian: apt-get install openssl; npm test installs it as root): ${(error as Error).message}`);
  }
  return { key, cert };
}

/** A GET over HTTPS trusting `ca` (fetch cannot be given a CA). */
export function httpsGet(url: string, ca: Buffer): Promise<{ status: number; contentType: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
