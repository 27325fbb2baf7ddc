import { lazySchema } from '../lazy-zod.js';

/**
 * Who may see an object's pixels, as `access.yml` files (a folder and everything below it) and the
 * `access:` keys of an object's `manifest.yml` say. Manifests and metadata stay public; only images
 * (info.json, tiles, regions, thumbnails) go through the gate (see gate.ts).
 */
export type AccessLevel = 'open' | 'degraded' | 'restricted';

/**
 * How a person gains access (each becomes an Auth 2.0 access service, see services.ts):
 * login (users.json), clickthrough (terms accepted once per session), kiosk (trusted IP ranges),
 * external (a header set by an SSO reverse proxy).
 */
export type AccessProfile = 'login' | 'clickthrough' | 'kiosk' | 'external';
export const ACCESS_PROFILES: readonly AccessProfile[] = ['login', 'clickthrough', 'kiosk', 'external'];

/** An object's effective policy, as the catalog records it. */
export type AccessPolicy =
  | { readonly access: 'open' }
  | { readonly access: 'degraded'; readonly degradedSize: number; readonly profile: AccessProfile }
  | { readonly access: 'restricted'; readonly profile: AccessProfile };

export const OPEN: AccessPolicy = { access: 'open' };
/** The longest side of a degraded image when its policy does not say. */
export const DEFAULT_DEGRADED_SIZE = 400;

/** The keys of a policy, as a file (or a sidecar) gives them: each may be left to a folder above. */
export interface PolicyInput {
  readonly access?: AccessLevel | undefined;
  readonly degradedSize?: number | undefined;
  readonly profile?: AccessProfile | undefined;
}

/** The keys `access.yml` takes and `manifest.yml` may carry beside the description. */
export const POLICY_KEYS = ['access', 'degradedSize', 'profile'] as const;

const policySchema = lazySchema((z) =>
  z
    .object({
    access: z.enum(['open', 'degraded', 'restricted'], { error: 'expected open, degraded or restricted' }).optional(),
    degradedSize: z.number({ error: 'expected a number of pixels' }).int('expected a whole number of pixels').min(16, 'at least 16 pixels').max(100_000).optional(),
    profile: z.enum(['login', 'clickthrough', 'kiosk', 'external'], { error: 'expected login, clickthrough, kiosk or external' }).optional(),
    })
    .strict(),
);

export class PolicyError extends Error {
  override name = 'PolicyError';
}

/** Validates the policy keys of a parsed file; the error names the file and the key. */
export function parsePolicy(input: unknown, source: string): PolicyInput {
  const result = policySchema().safeParse(input ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.code === 'unrecognized_keys' ? `${issue.keys.join(', ')}: not a key of an access policy (it takes ${POLICY_KEYS.join(', ')})` : `${issue.path.join('.') || '(top level)'}: ${issue.message}`;
    throw new PolicyError(`${source}: ${where}`);
  }
  return result.data;
}

/** Splits a sidecar's document into its policy keys and the rest (the description). */
export function splitPolicyKeys(document: unknown): { policy: Record<string, unknown> | undefined; rest: unknown } {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return { policy: undefined, rest: document };
  const policy: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(document)) {
    if ((POLICY_KEYS as readonly string[]).includes(key)) policy[key] = value;
    else rest[key] = value;
  }
  return { policy: Object.keys(policy).length > 0 ? policy : undefined, rest };
}

/**
 * The effective policy of inputs ordered from the least specific (the masters root's access.yml) to
 * the most (the object's own sidecar): each key from the most specific input that gives it.
 */
export function effectivePolicy(inputs: readonly PolicyInput[]): AccessPolicy {
  let access: AccessLevel = 'open';
  let degradedSize = DEFAULT_DEGRADED_SIZE;
  let profile: AccessProfile = 'login';
  for (const input of inputs) {
    access = input.access ?? access;
    degradedSize = input.degradedSize ?? degradedSize;
    profile = input.profile ?? profile;
  }
  if (access === 'open') return OPEN;
  if (access === 'degraded') return { access, degradedSize, profile };
  return { access, profile };
}

/** A recorded policy read back (the catalog's JSON); anything unreadable is treated as restricted, never as open. */
export function policyFromJson(json: string): AccessPolicy {
  try {
    const parsed = parsePolicy(JSON.parse(json), 'catalog');
    return effectivePolicy([{ access: 'restricted' }, parsed]);
  } catch {
    return { access: 'restricted', profile: 'login' };
  }
}
