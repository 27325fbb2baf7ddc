import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pagePicture } from '../helpers/corpus.js';

/** The masters root's description: the top collection's. */
export const TOP_COLLECTION = `label:
  en: Example Archive
  fr: Archives d'exemple
summary: Letters and ledgers of the Doe family.
`;

/** Fonds A described as an archivist would: languages, metadata, rights, links, and its picture. */
export const FONDS_A_COLLECTION = `language: en
label:
  en: Fonds A — the Doe papers
  fr: Fonds A — papiers Doe
summary: Correspondence and accounts, 1850–1860.
metadata:
  Extent: 3 boxes
  Dates: 1850–1860
rights: https://creativecommons.org/publicdomain/mark/1.0/
requiredStatement: Example Archive, fonds A
provider:
  label: Example Archive
  homepage: https://archive.example.org/
homepage: https://archive.example.org/fonds-a
navDate: 1850
thumbnail:
  object: Box 1/Folder 2
  page: p-002.tif
`;

/** JSON, with one field the converter cannot use (the rest applies). */
export const BOX_1_COLLECTION = {
  label: 'Box one',
  thumbnail: 'Folder 3',
  rights: 'https://example.org/our-own-rights',
};

/** A folder with one object only: not a collection. */
export const PLAIN_COLLECTION = 'label: Not a collection\n';

/** A key collections do not take: the whole file is reported and not applied. */
export const FONDS_B_COLLECTION = 'label: Fonds B described\npages: [1]\n';

/** Adds the collection descriptions (and a second fonds) to the masters written by writeMasters. */
export async function writeCollections(masters: string): Promise<void> {
  await writeFile(path.join(masters, 'collection.yml'), TOP_COLLECTION);
  await writeFile(path.join(masters, 'Fonds A', 'collection.yml'), FONDS_A_COLLECTION);
  await writeFile(path.join(masters, 'Fonds A', 'Box 1', 'collection.json'), JSON.stringify(BOX_1_COLLECTION));
  await writeFile(path.join(masters, 'plain', 'collection.yml'), PLAIN_COLLECTION);
  await mkdir(path.join(masters, 'Fonds B', 'Box 9'), { recursive: true });
  await pagePicture(14).tiff({ compression: 'lzw' }).toFile(path.join(masters, 'Fonds B', 'Box 9', '001.tif'));
  await writeFile(path.join(masters, 'Fonds B', 'collection.yml'), FONDS_B_COLLECTION);
}
