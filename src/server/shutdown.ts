import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/** Exit codes: 0 after a clean stop, 1 when requests were cut at the timeout, 128 + signal on a second signal. */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Graceful stop on SIGTERM and SIGINT: the server stops accepting connections (idle keep-alive ones
 * are closed, a new request on a busy one gets a 503), requests in flight finish, then the app's
 * onClose hooks close sources and the catalog, and the process exits 0. Requests still running
 * after `timeoutSeconds` are cut (exit 1); a second signal exits at once.
 */
export function stopOnSignals(app: FastifyInstance, logger: Logger, timeoutSeconds: number, exit: (code: number) => never = process.exit): void {
  const stop = gracefulStop(app, logger, timeoutSeconds, exit);
  process.on('SIGINT', (signal) => stop(signal, 'exit'));
  process.on('SIGTERM', (signal) => stop(signal, 'exit'));
}

/** What the primary of `serve --processes N` sends its workers: stop gracefully, or (`force`, on a second signal) at once. */
export interface StopMessage {
  readonly vitrine: 'stop';
  readonly signal: NodeJS.Signals;
  readonly force: boolean;
}
const isStopMessage = (m: unknown): m is StopMessage => typeof m === 'object' && m !== null && (m as StopMessage).vitrine === 'stop';

/**
 * The same graceful stop in a worker of `serve --processes N`, driven by the primary. A signal sent
 * to the whole process group (Ctrl-C, systemd's KillMode=control-group) reaches the workers too: a
 * repeated signal is therefore no reason to exit at once here; only the primary's `force` is.
 */
export function stopWithPrimary(app: FastifyInstance, logger: Logger, timeoutSeconds: number): void {
  const stop = gracefulStop(app, logger, timeoutSeconds, process.exit);
  process.on('SIGINT', (signal) => stop(signal, 'ignore'));
  process.on('SIGTERM', (signal) => stop(signal, 'ignore'));
  process.on('message', (message: unknown) => {
    if (isStopMessage(message)) stop(message.signal, message.force ? 'exit' : 'ignore');
  });
}

/** The stop itself; `again` says what a stop asked while one is under way does. */
function gracefulStop(app: FastifyInstance, logger: Logger, timeoutSeconds: number, exit: (code: number) => never): (signal: NodeJS.Signals, again: 'exit' | 'ignore') => void {
  let stopping = false;
  // Log lines are written asynchronously: flush them before the process ends.
  const end = (code: number): void => logger.flush(() => exit(code));
  return (signal, again) => {
    if (stopping) {
      if (again === 'ignore') return;
      logger.warn(`${signal} again: exiting without waiting`);
      exit(SIGNAL_EXIT[signal] ?? 1);
    }
    stopping = true;
    logger.info(`${signal}: stopped accepting connections; finishing requests in flight (at most ${timeoutSeconds} s)`);
    const timer = setTimeout(() => {
      logger.error(`requests still in flight after ${timeoutSeconds} s (--shutdown-timeout): closing their connections`);
      app.server.closeAllConnections();
      end(1);
    }, timeoutSeconds * 1000);
    // A keep-alive connection whose request finishes after close() began would stay open until its
    // keep-alive timeout (72 s): close connections as they fall idle.
    const idle = setInterval(() => app.server.closeIdleConnections(), 100);
    app.close().then(
      () => {
        clearTimeout(timer);
        clearInterval(idle);
        logger.info('stopped');
        end(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        end(1);
      },
    );
  };
}
