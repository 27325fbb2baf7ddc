import { LoadError } from './load.js';
import { showError, showProgress } from './status.js';

/** What the server put on the viewer element: what to show, and where the viewer's files are. */
export interface ViewerSettings {
  readonly element: HTMLElement;
  /** The manifest or info.json URL (absolute, checked by the server). */
  readonly source: string;
  readonly data: DOMStringMap;
}

/**
 * Runs a viewer page's start-up, turning any failure into a message in the page instead of a blank
 * area: a manifest that cannot be loaded says why, with a link back home.
 */
export function startViewer(what: string, start: (settings: ViewerSettings) => Promise<void>): void {
  const element = document.getElementById('viewer');
  const source = element?.dataset.source;
  if (!element || !source) return;
  showProgress(`Loading the ${what}…`);
  start({ element, source, data: element.dataset }).catch((error: unknown) => {
    if (error instanceof LoadError) showError(`The ${what} could not be loaded`, error.message);
    else showError('The viewer could not start', error instanceof Error ? error.message : String(error));
  });
}
