import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pagePicture } from '../helpers/corpus.js';

/** One page of the corpus: its master's name, the picture it shows and its size. */
export interface CorpusPage {
  readonly file: string;
  readonly picture: number;
  readonly width: number;
  readonly height: number;
}

export interface CorpusObject {
  readonly folder: string;
  readonly id: string;
  /** Pages in the reading order the pipeline must find. */
  readonly pages: CorpusPage[];
}

const page = (file: string, picture: number, width = 400, height = 300): CorpusPage => ({ file, picture, width, height });

/**
 * A small archive in folders: a fonds with boxes and folders (masters also directly in a box, so a
 * box is both an object and a collection), a plain object, and one with a faulty sidecar.
 */
export const OBJECTS: CorpusObject[] = [
  { folder: 'Fonds A/Box 1', id: 'Fonds-A/Box-1', pages: [page('box-label.tif', 10, 320, 240)] },
  {
    folder: 'Fonds A/Box 1/Folder 2',
    id: 'Fonds-A/Box-1/Folder-2',
    pages: [page('p-001.tif', 1, 400, 300), page('p-002.tif', 2, 300, 420), page('p-003.tif', 3, 500, 250)],
  },
  { folder: 'Fonds A/Box 1/Folder 3', id: 'Fonds-A/Box-1/Folder-3', pages: [page('scan_01.tif', 4, 360, 360), page('scan_02.tif', 5, 250, 330)] },
  { folder: 'Fonds A/Box 2', id: 'Fonds-A/Box-2', pages: [page('001.tif', 6), page('002.tif', 7)] },
  { folder: 'odd', id: 'odd', pages: [page('a.tif', 11)] },
  // page2 before page10: natural order.
  { folder: 'plain', id: 'plain', pages: [page('page2.png', 8, 280, 200), page('page10.png', 9, 200, 280)] },
];

export const FOLDER_2_SIDECAR = `# Described by the archivist; read by vitrine convert on every run.
language: en
label:
  en: Letters of Jane Doe
  fr: Lettres de Jane Doe
summary: Three letters written from Lyon, 1852.
metadata:
  - label: Date
    value: "1852"
  - label: { en: Place, fr: Lieu }
    value: { en: Lyons, fr: Lyon }
rights: https://creativecommons.org/licenses/by/4.0/
requiredStatement:
  label: Attribution
  value: Example Archive, fonds A
provider:
  - label: Example Archive
    homepage: https://archive.example.org/
    logo: { id: "https://archive.example.org/logo.png", format: image/png }
homepage: https://archive.example.org/fonds-a/letters
seeAlso:
  - id: https://archive.example.org/fonds-a/letters.xml
    format: text/xml
    profile: https://www.loc.gov/ead/
navDate: 1852-03-01
behavior: paged
viewingDirection: left-to-right
pages:
  1: Letter 1, first leaf
  p-002.tif: Letter 1, second leaf
  p-003: Letter 2
structure:
  - label: Letter 1
    pages: 1-2
  - label: Letter 2
    pages: p-003.tif
  - label: Enclosures
    items:
      - label: Envelope
        pages: [3]
`;

export const BOX_2_SIDECAR = { label: 'Box two', viewingDirection: 'right-to-left' };

/** A sidecar with a rights URI the API does not allow and a page that does not exist. */
export const ODD_SIDECAR = `label: Odd one
rights: https://example.org/our-rights
structure:
  - label: Missing
    pages: [1, 9]
`;

/** Semicolon-separated, as a European spreadsheet writes it; the `*` row applies to every object. */
export const BATCH_CSV = [
  'object;label@en;label@fr;summary;Creator;Subject;rights;pages',
  '*;;;;;;http://rightsstatements.org/vocab/InC/1.0/;',
  'Fonds A/Box 1/Folder 3;Ledger;Registre;"Accounts; two leaves, ""bound""\nwith string";Jane Doe;Accounts|Trade;;Recto|Verso',
  'Fonds-A/Box-2;CSV label, overridden by the sidecar;;;John Roe;;;',
  'nowhere;Nothing;;;;;;',
  '',
].join('\r\n');

export async function writeMasters(root: string): Promise<void> {
  for (const object of OBJECTS) {
    const dir = path.join(root, ...object.folder.split('/'));
    await mkdir(dir, { recursive: true });
    for (const p of object.pages) {
      const picture = pagePicture(p.picture, p.width, p.height);
      await (p.file.endsWith('.png') ? picture.png() : picture.tiff({ compression: 'lzw' })).toFile(path.join(dir, p.file));
    }
  }
  await writeFile(path.join(root, 'Fonds A/Box 1/Folder 2/manifest.yml'), FOLDER_2_SIDECAR);
  await writeFile(path.join(root, 'Fonds A/Box 2/manifest.json'), JSON.stringify(BOX_2_SIDECAR, null, 2));
  await writeFile(path.join(root, 'odd/manifest.yml'), ODD_SIDECAR);
}
