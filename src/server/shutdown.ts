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
  let stopping = false;
  // Log lines are written asynchronously: flush them before the process ends.
  const end = (code: number): void => logger.flush(() => exit(code));
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
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
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
