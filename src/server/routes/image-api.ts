import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { canonicalPath } from '../../image-api/canonical.js';
import { BusyError, IiifError, badRequest, notFound } from '../../image-api/errors.js';
import { parseImageRequest } from '../../image-api/grammar.js';
import { PROFILE_URIS, infoJson2, infoJson3 } from '../../image-api/info.js';
import { MEDIA_TYPES, type ApiVersion, type ParsedImageRequest } from '../../image-api/request.js';
import { resolveRequest } from '../../image-api/resolve.js';
import { describeSource } from '../../imaging/describe.js';
import { render, renderGeometry, type RenderGeometry } from '../../imaging/executor.js';
import { readStoredTile } from '../../imaging/passthrough.js';
import { planRequest, type RenderPlan, type Strategy } from '../../imaging/plan.js';
import type { ImageSource } from '../../imaging/source.js';
import type { PublicBaseUrl } from '../base-url.js';
import { addVary, etagFor, notModified } from '../http-cache.js';
import { infoJsonType } from '../negotiation.js';
import type { Granted, ImageService } from '../image-service.js';
import type { AccessControl } from '../../auth/access-control.js';
import { degradedDescription, degradedLimits, resolveDegraded } from '../../auth/degrade.js';
import { ANONYMOUS, type Credentials } from '../../auth/gate.js';
import { authServices2 } from '../../auth/services.js';
import { AUTH1_PREFIX, authServices1, contexts3 } from '../../auth/services-v1.js';
import { AccessDeniedError } from '../../auth/degrade.js';

export interface ImageApiOptions {
  readonly images: ImageService;
  readonly publicUrl: PublicBaseUrl;
  readonly cacheControl: string;
  /** Who a request is (cookies, tokens, address); without it every request is anonymous. */
  readonly access?: AccessControl | undefined;
}

/**
 * Answers of a protected image depend on who asks: only the browser may keep them (and revalidates
 * each time), and a cache in between must tell requests apart by their credentials.
 */
const PROTECTED_CACHE_CONTROL = 'private, no-cache';

/**
 * Auth 1.0 § 3.2 (tiered access): where the degraded view of a protected image is its own image
 * service, with its own id. It serves what anyone may see (the gate asked with no credentials), so
 * a restricted image stays a 401 there.
 */
export const degradedPrefix = (version: ApiVersion): string => `${AUTH1_PREFIX}/degraded/${version}/`;

/**
 * A protected image's description with no tile level to offer (a degraded size smaller than a tile,
 * a restricted image) says it offers its `sizes` only: no `tiles` (OpenSeadragon 6, which Mirador
 * draws with, takes `tiles: []` for tile levels and fails) and level 0, which a client reads as
 * "ask for these sizes" (a level 2 service without tiles makes OpenSeadragon ask for 256 px tiles
 * at full resolution, which a degraded view refuses). Claiming less than the server does is allowed.
 */
function sizesOnly(body: Record<string, unknown>, version: ApiVersion): void {
  if (!Array.isArray(body.tiles) || body.tiles.length > 0) return;
  delete body.tiles;
  // Without the features that would let a client cut its own tiles (OpenSeadragon tiles any
  // service that lists sizeByWh / sizeByW, whatever its level).
  if (version === 3) {
    body.profile = 'level0';
    delete body.extraFeatures;
  } else if (Array.isArray(body.profile)) {
    const [, extra] = body.profile as [string, Record<string, unknown>];
    body.profile = [LEVEL0_2, { ...extra, supports: [] }];
  }
}
const LEVEL0_2 = 'http://iiif.io/api/image/2/level0.json';

/** The Link header of an image answer: its canonical URL and the service's compliance profile. */
export const imageLink = (serviceId: string, canonical: string, version: ApiVersion): string =>
  `<${serviceId}/${canonical}>;rel="canonical", <${PROFILE_URIS[version]}>;rel="profile"`;

/** Splits the path after the version prefix into decoded segments; 400 on bad percent-encoding. */
function segmentsOf(url: string, prefix: string): string[] {
  const query = url.indexOf('?');
  const rest = (query === -1 ? url : url.slice(0, query)).slice(prefix.length);
  return rest.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw badRequest(`'${segment}': malformed percent-encoding`);
    }
  });
}

/** The strategy that answered: the plan's, unless its stored tile could not be read and `geometry` was decoded instead. */
function strategyUsed(plan: RenderPlan, geometry: RenderGeometry | undefined, source: ImageSource): Strategy {
  if (!geometry || plan.strategy !== 'passthrough') return plan.strategy;
  return source.info.jp2 ? 'jp2Area' : geometry.region ? 'jpegTiles' : 'vips';
}

/** Aborts when the client closes the connection before its response is sent (it no longer waits for it). */
function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableEnded) controller.abort(new BusyError(1, 'the client closed the connection while its render was waiting'));
  });
  return controller.signal;
}

export async function imageApiRoutes(app: FastifyInstance, options: ImageApiOptions): Promise<void> {
  const { images, cacheControl } = options;

  // The image services, and beside each the degraded service of Auth 1.0 (see degradedPrefix): the
  // same routes answering as to anyone, so the one gate decides there too.
  const services = ([3, 2] as const).flatMap((version) => [
    { version, prefix: `/iiif/${version}/`, degradedView: false },
    { version, prefix: degradedPrefix(version), degradedView: true },
  ]);
  for (const { version, prefix, degradedView } of services) {
    const profileLink = `<${PROFILE_URIS[version]}>;rel="profile"`;

    const serviceId = (request: FastifyRequest, reply: FastifyReply, identifier: string, at = prefix): string =>
      `${options.publicUrl.of(request, reply)}${at}${encodeURIComponent(identifier)}`;

    const base = (request: FastifyRequest, reply: FastifyReply): string => options.publicUrl.of(request, reply);
    const credentials = (request: FastifyRequest, reply: FastifyReply): Credentials =>
      degradedView ? ANONYMOUS : (options.access?.credentialsOf(request, new URL(base(request, reply)).origin) ?? ANONYMOUS);

    /** A restricted image's info.json, without its sizes and tiles, with the services that say how to gain access: 401. */
    async function deniedInfo(request: FastifyRequest, reply: FastifyReply, identifier: string): Promise<void> {
      const { width, height } = await images.dimensions(identifier);
      // Only the full size, as the manifest already gives it: a viewer that draws this description
      // anyway (Mirador hands it to OpenSeadragon) asks for that one size (401) instead of failing
      // on a description with no size at all.
      const description = { width, height, tile: { width, height }, scaleFactors: [], sizes: [{ width, height }] };
      const policy = await images.policyOf(identifier);
      // Both flows: Auth 2.0 (probe) for today's spec, Auth 1.0 (cookie service) for the viewers that speak only it.
      const services = [...authServices2(base(request, reply), identifier, policy), ...authServices1(base(request, reply), policy, version)];
      const id = serviceId(request, reply, identifier);
      const body = version === 3 ? infoJson3(id, description, images.limits, services) : infoJson2(id, description, images.limits, services);
      sizesOnly(body, version);
      if (version === 3) body['@context'] = contexts3(body['@context'] as string);
      addVary(reply, 'Cookie', 'Authorization');
      reply.code(401).type(infoJsonType(request.headers.accept, version)).send(JSON.stringify(body));
    }

    const info = async (request: FastifyRequest, reply: FastifyReply, identifier: string): Promise<void> => {
      try {
        await images.withSource(identifier, () => credentials(request, reply), (source, granted) => infoOf(request, reply, identifier, source, granted));
      } catch (error) {
        if (!(error instanceof AccessDeniedError)) throw error;
        await deniedInfo(request, reply, identifier);
      }
    };
    const image = (request: FastifyRequest, reply: FastifyReply, identifier: string, params: string[]): Promise<void> => {
      // Syntax first: a malformed request is a 400 whether or not the identifier exists.
      const [region, size, rotation, qualityFormat] = params as [string, string, string, string];
      const parsed = parseImageRequest(version, region, size, rotation, qualityFormat);
      return images.withSource(identifier, () => credentials(request, reply), (source, granted) => imageOf(request, reply, identifier, parsed, source, granted));
    };

    /** Cache-Control for an answer: the configured one, or a private one for a protected image (which also varies by credentials). */
    function cachingFor(reply: FastifyReply, granted: Granted): string {
      if (!granted.protected) return cacheControl;
      addVary(reply, 'Cookie', 'Authorization');
      return PROTECTED_CACHE_CONTROL;
    }

    function infoOf(request: FastifyRequest, reply: FastifyReply, identifier: string, source: ImageSource, granted: Granted): void {
      const id = serviceId(request, reply, identifier);
      const contentType = infoJsonType(request.headers.accept, version);
      addVary(reply, 'Accept');
      reply.header('Link', profileLink);
      const { decision } = granted;
      if (decision.kind === 'degrade' && !degradedView) {
        // Auth 1.0 § 3.2 Tiered Access: a client not authorised for this tier but allowed a lower one
        // MUST be sent there with a 302; it sees the degraded service's id, not the one it asked for,
        // and offers the access services that description names. Who may see what differs by
        // credentials, so the redirect is never stored.
        addVary(reply, 'Cookie', 'Authorization');
        reply.header('Cache-Control', 'no-store').redirect(`${serviceId(request, reply, identifier, degradedPrefix(version))}/info.json`, 302);
        return;
      }
      const view = decision.kind === 'degrade' ? `degraded ${decision.maxSize}` : 'full';
      if (notModified(request, reply, etagFor(source.version, id, contentType, view), source.modified, cachingFor(reply, granted))) return;
      let description = describeSource(source.info);
      let limits = images.limits;
      if (decision.kind === 'degrade') {
        limits = degradedLimits(description, description, decision.maxSize, images.limits);
        description = degradedDescription(description, decision.maxSize);
      }
      const services = granted.protected ? [...authServices2(base(request, reply), identifier, granted.policy), ...authServices1(base(request, reply), granted.policy, version)] : [];
      const body = version === 3 ? infoJson3(id, description, limits, services) : infoJson2(id, description, limits, services);
      if (decision.kind === 'degrade') sizesOnly(body, version);
      if (version === 3 && services.length > 0) body['@context'] = contexts3(body['@context'] as string);
      reply.type(contentType).send(JSON.stringify(body));
    }

    async function imageOf(
      request: FastifyRequest,
      reply: FastifyReply,
      identifier: string,
      parsed: ParsedImageRequest,
      source: ImageSource,
      granted: Granted,
    ): Promise<void> {
      const { decision } = granted;
      // Degraded: `max` is the degraded size and anything finer is a 401 (auth/degrade.ts).
      const resolved =
        decision.kind === 'degrade' ? resolveDegraded(parsed, source.info, decision.maxSize, images.limits) : resolveRequest(parsed, source.info, images.limits);
      const limits = decision.kind === 'degrade' ? degradedLimits(source.info, resolved.region, decision.maxSize, images.limits) : images.limits;
      const canonical = canonicalPath(resolved, source.info, limits, version);
      reply.header('Link', imageLink(serviceId(request, reply, identifier), canonical, version));
      if (notModified(request, reply, etagFor(source.version, canonical), source.modified, cachingFor(reply, granted))) return;
      const plan = planRequest(source, resolved, images.native, images.jp2.decodesArea);
      if (request.log.level === 'debug' || request.log.level === 'trace') {
        request.log.debug({ strategy: plan.strategy, heavy: plan.heavy, decodedPixels: plan.decodedPixels, outputPixels: plan.outputPixels }, 'plan');
      }
      request.routeKind = plan.heavy ? 'region' : 'tile';
      const stored = plan.stored && (await readStoredTile(source, plan.stored, images.native).catch(() => undefined));
      // A passthrough whose stored tile could not be read is decoded like any other request.
      const geometry = stored ? undefined : (plan.geometry ?? renderGeometry(source.info, resolved, images.native));
      const draw = (): Promise<Buffer> => render(source, resolved, images.render, images.native, images.jp2, geometry);
      // Expensive renders wait their turn in a bounded queue (503 when it is full); cheap ones never wait.
      const body = stored ?? (plan.heavy ? await images.heavy.run(draw, clientGone(reply)) : await draw());
      images.counters.rendered(strategyUsed(plan, geometry, source));
      reply.type(MEDIA_TYPES[resolved.format]).send(body);
    }

    app.get(`${prefix}*`, async (request, reply) => {
      const segments = segmentsOf(request.raw.url ?? request.url, prefix);
      const [identifier, ...params] = segments;
      request.routeKind = params.length === 4 ? 'tile' : 'info';
      if (!identifier) throw notFound('no identifier given');
      if (params.length === 0) {
        reply.redirect(`${serviceId(request, reply, identifier)}/info.json`, 303);
        return;
      }
      if (params.length === 1 && params[0] === 'info.json') return info(request, reply, identifier);
      if (params.length === 4) return image(request, reply, identifier, params);
      throw notFound(
        `'${request.url}' is neither {identifier}/info.json nor {identifier}/{region}/{size}/{rotation}/{quality}.{format}; encode '/' in identifiers as %2F`,
      );
    });
  }

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof BusyError) {
      // Expected under load, so not logged; not cacheable, and says when to come back.
      reply.removeHeader('ETag').removeHeader('Last-Modified').header('Cache-Control', 'no-store').header('Retry-After', String(error.retryAfterSeconds));
    } else if (error instanceof IiifError && error.status >= 500) {
      request.log.error({ err: error, url: request.url }, error.message);
    }
    if (error instanceof AccessDeniedError) addVary(reply, 'Cookie', 'Authorization');
    if (error instanceof IiifError) {
      reply.code(error.status).type('text/plain; charset=utf-8').send(`${error.status} ${error.message}\n`);
      return;
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    reply
      .code(status)
      .type('text/plain; charset=utf-8')
      .send(`${status} ${status < 500 ? (error as Error).message : 'internal error'}\n`);
  });
}

