import pino, { type Logger } from 'pino';

/** What never reaches a log: credentials in request headers (the ingest API's bearer token, cookies). */
export const LOG_REDACT = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'apiToken', '*.apiToken'];

/** JSON logs (pino); pretty when writing to a terminal. */
export function createLogger(level: string): Logger {
  const pretty = process.stdout.isTTY && level !== 'silent';
  return pino({
    level,
    redact: LOG_REDACT,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } } : {}),
  });
}
