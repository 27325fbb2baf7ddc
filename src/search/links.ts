import type { PageTextSource } from '../presentation/model.js';
import { SearchUrls } from './urls.js';
import { searchService1 } from './v1.js';
import { searchService2 } from './v2.js';

type Json = Record<string, unknown>;

/** The format and profile a sidecar is linked with (`seeAlso`). */
export function sidecarLink(source: PageTextSource): { format: string; profile?: string; label: string } {
  if (source.format === 'alto') {
    const version = source.version ?? '3';
    // ALTO 2 has one schema file for the major version; 3 and 4 a folder per major version.
    const profile = version === '2' ? 'http://www.loc.gov/standards/alto/alto-v2.0.xsd' : `http://www.loc.gov/standards/alto/v${version}/alto.xsd`;
    return { format: 'application/xml', profile, label: 'ALTO XML' };
  }
  if (source.format === 'hocr') return { format: 'text/vnd.hocr+html', profile: 'http://kba.github.io/hocr-spec/1.2/', label: 'hOCR' };
  return { format: 'text/plain', label: 'OCR text' };
}

/** The search services a 3.0 manifest declares: 2.0, and 1.0 for the viewers that read only it (Mirador 4, UV 4). */
export function manifestServices3(base: string, objectId: string): Json[] {
  const urls = new SearchUrls(base);
  return [
    searchService2(urls.service(objectId, 2), urls.autocomplete(objectId, 2)),
    searchService1(urls.service(objectId, 1), urls.autocomplete(objectId, 1), 'array'),
  ];
}

/** The archive-wide search services the top collection declares (3.0: 2.0 and 1.0; 2.1: 1.0); no autocomplete. */
export function archiveServices(base: string, version: 2 | 3): Json[] {
  const urls = new SearchUrls(base);
  const v1 = searchService1(urls.archive(1), undefined);
  return version === 3 ? [searchService2(urls.archive(2), undefined), v1] : [v1];
}

/** The 1.0 search service of a 2.1 manifest. */
export function manifestService2(base: string, objectId: string): Json {
  const urls = new SearchUrls(base);
  return searchService1(urls.service(objectId, 1), urls.autocomplete(objectId, 1));
}

/** A 3.0 canvas's links to its text: the OCR file (`seeAlso`) and its lines as an AnnotationPage (`annotations`). */
export function canvasText3(base: string, identifier: string, source: PageTextSource): Json {
  const urls = new SearchUrls(base);
  const link = sidecarLink(source);
  return {
    seeAlso: [{ id: urls.sidecar(identifier), type: 'Dataset', format: link.format, ...(link.profile ? { profile: link.profile } : {}), label: { none: [link.label] } }],
    annotations: [{ id: urls.text(identifier, 3), type: 'AnnotationPage' }],
  };
}

/** A 2.1 canvas's links to its text: `seeAlso` and `otherContent` (an sc:AnnotationList). */
export function canvasText2(base: string, identifier: string, source: PageTextSource): Json {
  const urls = new SearchUrls(base);
  const link = sidecarLink(source);
  return {
    seeAlso: [{ '@id': urls.sidecar(identifier), format: link.format, ...(link.profile ? { profile: link.profile } : {}), label: link.label }],
    otherContent: [{ '@id': urls.text(identifier, 2), '@type': 'sc:AnnotationList' }],
  };
}
