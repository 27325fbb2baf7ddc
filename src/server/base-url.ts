import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { addVary } from './http-cache.js';
import { viewOf } from './raw-request.js';

/**
 * The public URL of the server as clients see it, which every id, Link header, redirect and page
 * link is built on.
 *
 * With `--base-url` it is that, whatever a request says: a request cannot change an id, so a shared
 * cache may keep a response for everyone. Without it, it is the request's own scheme and host
 * (and X-Forwarded-Proto/Host with `--trust-proxy`); each response built on it then says so in
 * `Vary`, so that a shared cache never gives a document made for one Host (or forged
 * X-Forwarded-Host) to a request that sent another.
 */
export class PublicBaseUrl {
  private readonly varyOn: readonly string[];

  constructor(
    private readonly configured: string | undefined,
    readonly trustProxy: boolean,
  ) {
    this.varyOn = trustProxy ? ['Host', 'X-Forwarded-Host', 'X-Forwarded-Proto'] : ['Host'];
    this.varyValue = this.varyOn.join(', ');
  }

  private readonly varyValue: string;

  /** The base URL for this request; marks the reply as varying on what shaped it. */
  of(request: FastifyRequest, reply: FastifyReply): string {
    if (this.configured !== undefined) return this.configured;
    addVary(reply, ...this.varyOn);
    return `${request.protocol}://${request.host}`;
  }

  /** The same for a raw request (the image fast path), with the `Vary` value `of` would have set (undefined: none). */
  ofRaw(request: IncomingMessage): { base: string; vary: string | undefined } {
    if (this.configured !== undefined) return { base: this.configured, vary: undefined };
    const { protocol, host } = viewOf(request, this.trustProxy);
    return { base: `${protocol}://${host}`, vary: this.varyValue };
  }
}
