import { ConfigError, readConfigFile } from '../config/load.js';
import { serveConfigObject } from '../config/schema.js';

/** The settings of `vitrine worker` a config file may give, by their camelCase names and types. */
const WORKER_KEYS = {
  queue: 'string',
  queuePrefix: 'string',
  data: 'string',
  masters: 'string',
  images: 'string',
  s3Endpoint: 'string',
  s3Region: 'string',
  s3ForcePathStyle: 'boolean',
  rules: 'string',
  concurrency: 'number',
  lease: 'number',
  stalledInterval: 'number',
  grace: 'number',
  logLevel: 'string',
  catalog: 'string',
  catalogSchema: 'string',
} as const;
type WorkerKey = keyof typeof WORKER_KEYS;

/** Settings the worker reads from the environment (VITRINE_*), which win over the file. */
const FROM_ENV: Partial<Record<WorkerKey, string>> = { queue: 'VITRINE_QUEUE', queuePrefix: 'VITRINE_QUEUE_PREFIX' };

/**
 * A worker's flags completed from a config file: the file the servers read may be given to the
 * workers as it is (what they share: queue, catalog, masters, images, S3), so the worker takes its own
 * settings and passes over the servers' (port, baseUrl…). A key that neither knows is refused, as
 * is a value of the wrong type. Flags win over the environment, which wins over the file.
 */
export function withConfigFile<Flags extends Partial<Record<WorkerKey, string | number | boolean>>>(flags: Flags, file: string, env: NodeJS.ProcessEnv = process.env): Flags {
  const settings = readConfigFile(file);
  const serveKeys = new Set(Object.keys(serveConfigObject.shape));
  const merged: Record<string, unknown> = { ...flags };
  for (const [key, value] of Object.entries(settings)) {
    if (!(key in WORKER_KEYS)) {
      if (serveKeys.has(key)) continue;
      throw new ConfigError(`config file ${file}: '${key}' is no setting of vitrine worker or vitrine serve`);
    }
    const type = WORKER_KEYS[key as WorkerKey];
    if (typeof value !== type) throw new ConfigError(`config file ${file}: ${key}: expected a ${type}, got ${JSON.stringify(value)}`);
    const envName = FROM_ENV[key as WorkerKey];
    if (merged[key] === undefined && !(envName && env[envName] !== undefined)) merged[key] = value;
  }
  return merged as Flags;
}
