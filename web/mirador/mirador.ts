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

/** Mirador 4 with one window on the manifest; the workspace's own menus are hidden (one object, one view). */
startViewer('manifest', async ({ element, source }) => {
  // Loaded first so a manifest that cannot be read gets a clear message, not an empty workspace.
  const manifest = await fetchJson(source);
  titleWith(iiifLabel(manifest, source));
  clearStatus();
  // Auth 2.0 (which Mirador 4 does not speak) first: probe, access, token, probe.
  await authorise2(manifest, accessPanel(element));
  const mirador = viewer({
    id: element.id,
    windows: [{ manifestId: source, thumbnailNavigationPosition: 'far-bottom' }],
    window: { allowClose: false, allowMaximize: false, defaultSideBarPanel: 'info', sideBarOpenByDefault: false },
    workspace: { type: 'mosaic', allowNewWindows: false },
    workspaceControlPanel: { enabled: false },
  });
  redrawOnAccessChange(mirador.store);
});
