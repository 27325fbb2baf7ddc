import type { Html } from './html.js';

/** A page ready to send, with its status. */
export interface Rendered {
  readonly status: number;
  readonly page: Html;
}
