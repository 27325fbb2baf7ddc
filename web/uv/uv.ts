import '../shared/page.css';
import '../shared/viewer.css';
import './uv.css';
import { accessPanel, authorise2 } from '../shared/auth2.js';
import { fetchJson, iiifLabel, LoadError } from '../shared/load.js';
import { clearStatus, titleWith } from '../shared/status.js';
import { startViewer } from '../shared/start.js';

/** Adds a classic script and waits for it (UV's browser build then loads its chunks from beside it). */
function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new LoadError(`the Universal Viewer script ${src} could not be loaded.`));
    document.head.append(script);
  });
}

/**
 * Settings merged over UV's own. No Share/Embed: they offer an iframe of UV's own page (uv.html),
 * which this server does not have; the page's address is the link to share. The image extension's
 * footer is `searchFooterPanel`, the others' `footerPanel`.
 */
const FOOTER = { options: { shareEnabled: false, embedEnabled: false } };
const CONFIG = { modules: { footerPanel: FOOTER, searchFooterPanel: FOOTER } };

/** Universal Viewer 4, from its published browser build, on the manifest. */
startViewer('manifest', async ({ element, source, data }) => {
  const [document] = await Promise.all([fetchJson(source), loadScript(data.uvScript!)]);
  titleWith(iiifLabel(document, source));
  if (!window.UV) throw new Error('the Universal Viewer script did not define UV');
  clearStatus();
  // Auth 2.0 (which UV 4 does not speak) first: probe, access, token, probe.
  await authorise2(document, accessPanel(element));
  // UV's style sheets are scoped to `.uv`.
  element.classList.add('uv');
  const uv = window.UV.init(element.id, { iiifManifestId: source, embedded: true, locales: [{ name: 'en-GB' }] });
  uv.on('configure', ({ cb }: { cb: (config: Promise<unknown>) => void }) => cb(Promise.resolve(CONFIG)));
});
