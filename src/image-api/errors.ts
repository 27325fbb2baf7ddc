/** An error the Image API reports to the client with an HTTP status and a message naming the cause. */
export class IiifError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 406 | 410 | 500 | 501 | 502 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'IiifError';
  }
}

export const badRequest = (message: string): IiifError => new IiifError(400, message);
export const notFound = (message: string): IiifError => new IiifError(404, message);

/** 503: the server is at capacity for this kind of request; the client may retry after a while. */
export class BusyError extends IiifError {
  constructor(
    readonly retryAfterSeconds: number,
    message: string,
  ) {
    super(503, message);
    this.name = 'BusyError';
  }
}
