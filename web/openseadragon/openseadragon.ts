import '../shared/page.css';
import '../shared/viewer.css';
import OpenSeadragon from 'openseadragon';
import { fetchJson, LoadError } from '../shared/load.js';
import { clearStatus } from '../shared/status.js';
import { startViewer } from '../shared/start.js';

/** Deep zoom of one image from its Image API info.json (3.0 or 2.1). */
startViewer('image', async ({ element, source, data }) => {
  const info = await fetchJson(source);
  if (typeof info !== 'object' || info === null || !('width' in info) || !('height' in info)) {
    throw new LoadError(`${source} is not a IIIF Image API info.json.`);
  }
  clearStatus();
  OpenSeadragon({
    element,
    // OpenSeadragon reads the info.json again (from the browser's cache) and picks the IIIF tile source.
    tileSources: source,
    prefixUrl: data.images!,
    // The 2D canvas drawer: as good for tiled JPEGs, and smooth where WebGL is missing or
    // emulated in software (virtual machines, remote desktops, headless browsers).
    drawer: 'canvas',
    showNavigator: true,
    navigatorPosition: 'BOTTOM_RIGHT',
    showRotationControl: true,
    crossOriginPolicy: 'Anonymous',
    // Keyboard: OpenSeadragon's canvas takes focus and answers arrows, +/-, 0 (home), r (rotate).
    gestureSettingsMouse: { clickToZoom: true },
  });
});
