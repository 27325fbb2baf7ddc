/** The little of each viewer's API the pages use; neither Mirador nor UV's browser build ships types for it. */

declare module 'mirador' {
  export interface MiradorConfig {
    readonly id: string;
    readonly windows?: ReadonlyArray<{ readonly manifestId: string; readonly [setting: string]: unknown }>;
    readonly [setting: string]: unknown;
  }
  export interface MiradorInstance {
    readonly store: import('./mirador/redraw-on-access.js').MiradorStore;
  }
  export function viewer(config: MiradorConfig, plugins?: readonly unknown[]): MiradorInstance;
}

declare module '*.css';

/** Universal Viewer's browser build (`UV.js`) defines this global. */
interface UniversalViewerInstance {
  on(event: string, handler: (...args: never[]) => void, context?: unknown): void;
}

interface Window {
  UV?: {
    init(element: string | HTMLElement, data: Record<string, unknown>): UniversalViewerInstance;
  };
}
