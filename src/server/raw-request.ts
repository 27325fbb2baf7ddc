import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/**
 * What Fastify's `request.ip`, `request.host` and `request.protocol` give, read from the raw Node
 * request: for the image fast path (image-fast-path.ts), which answers before Fastify sees the
 * request. `trustProxy` is Vitrine's `--trust-proxy` (every proxy trusted, Fastify's `true`): the
 * client is then the first address of X-Forwarded-For, the host and scheme the last of
 * X-Forwarded-Host and X-Forwarded-Proto.
 */
export interface RawRequestView {
  readonly ip: string | undefined;
  readonly host: string;
  readonly protocol: string;
}

/** The last of a header's comma-separated values (a header sent twice is joined with commas). */
function lastEntry(value: string): string {
  const comma = value.lastIndexOf(',');
  return (comma === -1 ? value : value.slice(comma + 1)).trim();
}

/** The first address of X-Forwarded-For, spaces trimmed and empty entries skipped (as @fastify/proxy-addr parses it). */
function firstForwarded(value: string): string | undefined {
  for (const entry of value.split(',')) {
    const address = entry.replace(/^ +| +$/g, '');
    if (address) return address;
  }
  return undefined;
}

export function viewOf(request: IncomingMessage, trustProxy: boolean): RawRequestView {
  const { headers, socket } = request;
  const own = {
    ip: socket.remoteAddress,
    host: headers.host ?? '',
    protocol: (socket as Partial<TLSSocket>).encrypted ? 'https' : 'http',
  };
  if (!trustProxy) return own;
  const forwardedFor = headers['x-forwarded-for'];
  const forwardedHost = headers['x-forwarded-host'];
  const forwardedProto = headers['x-forwarded-proto'];
  return {
    ip: (forwardedFor && firstForwarded(String(forwardedFor))) || own.ip,
    host: forwardedHost ? lastEntry(String(forwardedHost)) : own.host,
    protocol: forwardedProto ? lastEntry(String(forwardedProto)) : own.protocol,
  };
}
