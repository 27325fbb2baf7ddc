import '@fontsource/roboto/latin-400.css';
import '@fontsource/roboto/latin-500.css';
import '@fontsource/roboto/latin-700.css';
import '../shared/page.css';
import '../shared/viewer.css';
import { viewer } from 'mirador';
import { accessPanel, authorise2 } from '../shared/auth2.js';
import { fetchJson, iiifLabel } from '../shared/load.js';
import { clearStatus, titleWith } from '../shared/status.js';
import { startViewer } from '../shared/start.js';
import { redrawOnAccessChange } from './redraw-on-access.js';

/**
 * Mirador 4 with one window on the manifest; the workspace's own menus are hidden (one object, one
 * view). The page may name a canvas to open at and a search to run (the home page's text search
 * links here): Mirador then opens its search panel with the hits highlighted.
 */
startViewer('manifest', async ({ element, source, data }) => {
  // Loaded first so a manifest that cannot be read gets a clear message, not an empty workspace.
  const manifest = await fetchJson(source);
  titleWith(iiifLabel(manifest, source));
  clearStatus();
  // Auth 2.0 (which Mirador 4 does not speak) first: probe, access, token, probe.
  await authorise2(manifest, accessPanel(element));
  const mirador = viewer({
    id: element.id,
    windows: [
      {
        manifestId: source,
        thumbnailNavigationPosition: 'far-bottom',
        ...(data.canvas ? { canvasId: data.canvas } : {}),
        // Mirador puts the query into the service's URL as it is: characters that would end or
        // change the q parameter are only separators to the search, so they become spaces.
        ...(data.search ? { defaultSearchQuery: data.search.replace(/[&#+%]/g, ' ') } : {}),
        // Opened at a page: stay there (Mirador would go to the first hit), its hits painted.
        ...(data.canvas ? { switchCanvasOnSearch: false } : {}),
      },
    ],
    window: { allowClose: false, allowMaximize: false, defaultSideBarPanel: 'info', sideBarOpenByDefault: false },
    workspace: { type: 'mosaic', allowNewWindows: false },
    workspaceControlPanel: { enabled: false },
  });
  redrawOnAccessChange(mirador.store);
});
