import { raw, type Html } from './html.js';

/**
 * The IIIF logo, drawn here as four letters (blue "II", red "IF") so nothing is fetched from
 * elsewhere. Sized by CSS; the label is on the link around it.
 */
export const IIIF_LOGO: Html = raw(
  '<svg class="iiif-logo" viewBox="0 0 44 32" width="28" height="20" aria-hidden="true" focusable="false">' +
    '<g fill="#2873ab"><rect x="2" y="10" width="6" height="20" rx="1"/><circle cx="5" cy="4" r="3"/>' +
    '<rect x="12" y="10" width="6" height="20" rx="1"/><circle cx="15" cy="4" r="3"/></g>' +
    '<g fill="#ed1d33"><rect x="22" y="10" width="6" height="20" rx="1"/><circle cx="25" cy="4" r="3"/>' +
    '<path d="M32 30V6a5 5 0 0 1 5-5h6v5h-5v6h5v5h-5v13z"/></g>' +
    '</svg>',
);
