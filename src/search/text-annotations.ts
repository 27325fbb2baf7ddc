import type { PresentationUrls } from '../presentation/urls.js';
import type { TextLine } from './search-index.js';

type Json = Record<string, unknown>;

const target = (canvas: string, line: TextLine): string => (line.box ? `${canvas}#xywh=${line.box.x},${line.box.y},${line.box.w},${line.box.h}` : canvas);

/** A page's OCR text as a Presentation 3.0 AnnotationPage: one `supplementing` annotation per line, on its region. */
export function textPage3(id: string, identifier: string, lines: readonly TextLine[], urls: PresentationUrls): Json {
  const canvas = urls.canvas(identifier);
  return {
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id,
    type: 'AnnotationPage',
    items: lines.map((line, i) => ({
      id: `${canvas}/text/l${i + 1}`,
      type: 'Annotation',
      motivation: 'supplementing',
      body: { type: 'TextualBody', value: line.text, format: 'text/plain' },
      target: target(canvas, line),
    })),
  };
}

/** The same lines as a Presentation 2.1 sc:AnnotationList (a canvas's `otherContent`). */
export function textList2(id: string, identifier: string, lines: readonly TextLine[], urls: PresentationUrls): Json {
  const canvas = urls.canvas(identifier);
  return {
    '@context': 'http://iiif.io/api/presentation/2/context.json',
    '@id': id,
    '@type': 'sc:AnnotationList',
    resources: lines.map((line, i) => ({
      '@id': `${canvas}/text/l${i + 1}`,
      '@type': 'oa:Annotation',
      motivation: 'sc:painting',
      resource: { '@type': 'cnt:ContentAsText', format: 'text/plain', chars: line.text },
      on: target(canvas, line),
    })),
  };
}
