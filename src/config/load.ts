import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { serveConfigObject, serveConfigSchema, type ServeConfig } from './schema.js';

import { ConfigError } from './error.js';

export { ConfigError };

/** Settings read from the environment as given, never as numbers or booleans. */
const TEXT_KEYS = new Set(['apiToken', 'queue', 'queuePrefix']);

/** Environment variables: VITRINE_<UPPER_SNAKE> for every key, e.g. VITRINE_MAX_AREA. */
function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(serveConfigObject.shape)) {
    const name = `VITRINE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    const value = env[name];
    // A secret stays text whatever it looks like (an all-digit token must not become a rounded number).
    if (value !== undefined) out[key] = TEXT_KEYS.has(key) ? value : coerce(value);
  }
  return out;
}

function coerce(value: string): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

/** A config file's settings (YAML or JSON), paths in it resolved against its folder; a ConfigError naming the file when it cannot be read. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`config file ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (error as Error).message}`);
  }
  try {
    const parsed: unknown = file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected a mapping of settings');
    const dir = path.dirname(path.resolve(file));
    const out = { ...(parsed as Record<string, unknown>) };
    // Paths in a config file are relative to the file, not to the working directory.
    for (const key of ['images', 'data', 'watch', 'masters', 'tlsKey', 'tlsCert', 'cacheDir', 'catalog']) {
      const value = out[key];
      if (typeof value === 'string' && !/^(s3|postgres|postgresql):\/\//i.test(value)) out[key] = path.resolve(dir, value);
    }
    return out;
  } catch (error) {
    throw new ConfigError(`config file ${file}: ${(error as Error).message}`);
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const key = issue.path.join('.');
      return key && !issue.message.startsWith(`${key}:`) ? `${key}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** Merges defaults < config file < environment < flags, and validates the result. */
export function loadServeConfig(
  flags: Record<string, unknown>,
  options: { configFile?: string | undefined; env?: NodeJS.ProcessEnv } = {},
): ServeConfig {
  const merged = {
    ...(options.configFile ? readConfigFile(options.configFile) : {}),
    ...fromEnv(options.env ?? process.env),
    ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)),
  };
  const result = serveConfigSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(`invalid configuration: ${describeIssues(result.error)}`);
  return result.data;
}
