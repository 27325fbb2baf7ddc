import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { normaliseFolder } from '../../ingest/context.js';
import { JOB_STATES, JobStateError, type Job, type JobState } from '../../ingest/jobs.js';
import type { IngestService } from '../../ingest/service.js';
import type { PublicBaseUrl } from '../base-url.js';

export interface IngestApiOptions {
  /** The bearer token the API asks for; none: the API answers 404, disabled. */
  readonly token: string | undefined;
  /** The queue and the masters root; none (no --masters): the API answers 404 saying so. */
  readonly ingest: Pick<IngestService, 'queue' | 'lookUp' | 'enqueueFolder' | 'enqueued'> | undefined;
  readonly publicUrl: PublicBaseUrl;
}

/** Paths one request may ingest at most, and its body's size (JSON). */
const MAX_PATHS = 1000;
const BODY_LIMIT = 256 * 1024;

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Whether the bearer token is the configured one: in constant time over hashes (equal lengths, nothing learnt from timing). */
function tokenMatches(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

/** The public form of a job. */
function jobView(job: Job, base: string, children?: readonly Job[]): Record<string, unknown> {
  const common = {
    id: job.id,
    kind: job.kind,
    state: job.state,
    status: `${base}/api/jobs/${job.id}`,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    ...(job.error !== undefined ? { error: job.error } : {}),
    ...(job.state === 'queued' && job.attempts > 0 ? { retryAt: job.runAt } : {}),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.finishedAt !== undefined ? { finishedAt: job.finishedAt } : {}),
  };
  if (job.data.kind === 'page') {
    const { objectId, identifier, source, sourcePage } = job.data;
    return { ...common, objectId, identifier, source, sourcePage, ...(job.progress.outcome ? { outcome: job.progress.outcome } : {}) };
  }
  const objectId = job.progress.objectId;
  const view: Record<string, unknown> = { ...common, folder: job.data.folder, ...(objectId ? { objectId } : {}) };
  if (children) {
    const count = (state: JobState): number => children.filter((c) => c.state === state).length;
    view.pages = { total: children.length, done: count('done'), failed: count('failed'), cancelled: count('cancelled'), queued: count('queued'), running: count('running') };
    const failed = children.filter((c) => c.state === 'failed');
    if (failed.length > 0) view.failedPages = failed.map((c) => jobView(c, base));
  }
  if (job.state === 'done' && objectId) view.manifest = `${base}/iiif/manifest/${objectId}`;
  return view;
}

/**
 * The ingest API for digitization systems (bearer token): POST /api/ingest queues object folders
 * (relative to the masters root) and answers 202 with each job's status URL; GET /api/jobs/:id
 * (state, pages done, errors); GET /api/jobs?state=…; POST /api/jobs/:id/retry and /cancel (or
 * DELETE /api/jobs/:id). An encapsulated plugin: its token check applies to its routes only.
 */
export async function ingestApiRoutes(app: FastifyInstance, options: IngestApiOptions): Promise<void> {
  const expected = options.token !== undefined ? digest(options.token) : undefined;
  const ingest = options.ingest;

  app.addHook('onRequest', async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    if (expected === undefined) throw new ApiError(404, 'the ingest API is disabled: start vitrine serve with --api-token (or VITRINE_API_TOKEN), --masters and --data');
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
    if (!match) {
      reply.header('WWW-Authenticate', 'Bearer realm="vitrine ingest"');
      throw new ApiError(401, 'a bearer token is required: send Authorization: Bearer <token>');
    }
    if (!tokenMatches(match[1]!, expected)) {
      reply.header('WWW-Authenticate', 'Bearer realm="vitrine ingest", error="invalid_token"');
      throw new ApiError(403, 'the bearer token is not the one configured');
    }
    if (!ingest) throw new ApiError(404, 'the ingest API needs a masters root: start vitrine serve with --masters DIR and --data DIR');
  });

  app.setErrorHandler((error, _request, reply) => {
    const status = error instanceof ApiError ? error.status : error instanceof JobStateError ? 409 : ((error as { statusCode?: number }).statusCode ?? 500);
    if (status >= 500) app.log.error({ err: error }, 'ingest API');
    const message = status >= 500 && !(error instanceof ApiError) ? 'internal error (see the server log)' : (error as Error).message;
    reply.code(status).header('Cache-Control', 'no-store').send({ error: message });
  });

  const base = (request: FastifyRequest, reply: FastifyReply): string => options.publicUrl.of(request, reply);

  /** The folder a request names, checked: relative, under the masters root (links included), an existing folder (in S3: a prefix with objects). */
  async function checkedFolder(given: unknown): Promise<string> {
    if (typeof given !== 'string' || given.trim() === '') throw new ApiError(400, `path: expected a folder relative to the masters root, such as "box1/folder2" (got ${JSON.stringify(given)})`);
    const normal = normaliseFolder(given);
    if ('error' in normal) throw new ApiError(400, `path "${given}": ${normal.error}`);
    // The masters' store failing (S3 down, access refused) is a bad gateway, its reason told (it names no credential).
    const found = await ingest!.lookUp(normal.folder).catch((error: unknown) => {
      throw new ApiError(502, `path "${given}": the masters cannot be looked up: ${(error as Error).message}`);
    });
    if (found === 'missing') throw new ApiError(404, `path "${given}": no such folder under the masters root`);
    if (found === 'not a folder') throw new ApiError(400, `path "${given}": not a folder (give the object's folder)`);
    if (found === 'outside') throw new ApiError(400, `path "${given}": leads outside the masters root (a link)`);
    return normal.folder;
  }

  app.post('/api/ingest', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const body = request.body as { path?: unknown; paths?: unknown } | null | undefined;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'body: expected JSON such as {"path": "box1/folder2"} or {"paths": ["box1/folder2", …]}');
    const single = body.path !== undefined;
    if (single === (body.paths !== undefined)) throw new ApiError(400, 'body: give either "path" (one folder) or "paths" (a list of folders)');
    const given = single ? [body.path] : body.paths;
    if (!Array.isArray(given) || given.length === 0) throw new ApiError(400, 'paths: expected a non-empty list of folders relative to the masters root');
    if (given.length > MAX_PATHS) throw new ApiError(400, `paths: ${given.length} folders; at most ${MAX_PATHS} per request`);
    // Every path is checked before any is queued: a request is taken whole or refused.
    const folders: string[] = [];
    for (const g of given) folders.push(await checkedFolder(g));
    const jobs: Job[] = [];
    for (const folder of new Set(folders)) jobs.push(await ingest!.enqueueFolder(folder));
    const url = base(request, reply);
    reply.code(202);
    if (single) {
      reply.header('Location', `${url}/api/jobs/${jobs[0]!.id}`);
      return jobView(jobs[0]!, url);
    }
    return { jobs: jobs.map((job) => jobView(job, url)) };
  });

  app.get('/api/jobs', async (request, reply) => {
    const query = request.query as { state?: string; kind?: string; limit?: string };
    if (query.state !== undefined && !(JOB_STATES as readonly string[]).includes(query.state)) {
      throw new ApiError(400, `state: '${query.state}' is not one of ${JOB_STATES.join(', ')}`);
    }
    if (query.kind !== undefined && query.kind !== 'object' && query.kind !== 'page') throw new ApiError(400, `kind: '${query.kind}' is not one of object, page`);
    const limit = query.limit === undefined ? 100 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ApiError(400, `limit: '${query.limit}' is not a whole number from 1 to 1000`);
    const jobs = await ingest!.queue.list({ state: query.state as JobState | undefined, kind: query.kind as 'object' | 'page' | undefined, limit });
    const url = base(request, reply);
    return { jobs: jobs.map((job) => jobView(job, url)) };
  });

  const found = async (id: string): Promise<Job> => {
    const job = await ingest!.queue.get(id);
    if (!job) throw new ApiError(404, `no job ${id}`);
    return job;
  };

  app.get('/api/jobs/:id', async (request, reply) => {
    const job = await found((request.params as { id: string }).id);
    return jobView(job, base(request, reply), job.kind === 'object' ? await ingest!.queue.children(job.id) : undefined);
  });

  app.post('/api/jobs/:id/retry', async (request, reply) => {
    const job = await ingest!.queue.retry((await found((request.params as { id: string }).id)).id);
    ingest!.enqueued();
    reply.code(202);
    return jobView(job, base(request, reply));
  });

  const cancel = async (request: FastifyRequest, reply: FastifyReply): Promise<Record<string, unknown>> => {
    const job = await ingest!.queue.cancel((await found((request.params as { id: string }).id)).id);
    return jobView(job, base(request, reply), job.kind === 'object' ? await ingest!.queue.children(job.id) : undefined);
  };
  app.post('/api/jobs/:id/cancel', cancel);
  app.delete('/api/jobs/:id', cancel);
}
