import type { FastifyInstance } from 'fastify';
import { VERSION } from '../../version.js';

export interface HealthOptions {
  /** What decodes JPEG 2000 here: operators check it without reading the start-up log. */
  readonly jp2Decoder: string;
  /** Heavy renders running and waiting now, dropped since start, and the limits (is the server saturated?). */
  heavyRenders(): { running: number; waiting: number; dropped: number; concurrency: number; queue: number };
  /** Requests made to S3 and the local cache's size, when images are in S3. */
  storage?(): object | undefined;
}

export async function healthRoutes(app: FastifyInstance, options: HealthOptions): Promise<void> {
  app.get('/health', async (_request, reply) => {
    reply.header('Cache-Control', 'no-store');
    const storage = options.storage?.();
    return { status: 'ok', version: VERSION, jp2Decoder: options.jp2Decoder, heavyRenders: options.heavyRenders(), ...(storage ? { s3: storage } : {}) };
  });
}
