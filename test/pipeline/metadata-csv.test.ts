import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readMetadataCsv } from '../../src/pipeline/metadata/csv.js';
import type { ConversionReport } from '../../src/pipeline/run.js';
import { vitrine } from '../helpers/cli.js';
import { pagePicture } from '../helpers/corpus.js';
import { tempDirForSuite } from '../helpers/server.js';

/** What the spreadsheet shows: é, a curly apostrophe, œ and € (the last three exist in Windows-1252 only, not in Latin-1). */
const LABEL = 'Café d’œuvre 5 €';
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Windows-1252 bytes of a text made of ASCII and the four characters above, as Excel on Windows saves "CSV". */
function windows1252(text: string): Buffer {
  const special: Record<string, number> = { 'é': 0xe9, '’': 0x92, 'œ': 0x9c, '€': 0x80 };
  return Buffer.from([...text].map((c) => special[c] ?? c.charCodeAt(0)));
}

/** UTF-16 with its byte order mark, as Excel saves "Unicode text" (tab-separated). */
function utf16(text: string, endian: 'le' | 'be'): Buffer {
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  return endian === 'le' ? le : Buffer.from(le).swap16();
}

describe('batch CSV files as spreadsheets save them', () => {
  const tmp = tempDirForSuite('vitrine-csv-');

  const files: [string, (text: string) => Buffer, string][] = [
    ['utf8-bom.csv', (t) => Buffer.concat([UTF8_BOM, Buffer.from(t, 'utf8')]), ';'],
    ['utf8-plain.csv', (t) => Buffer.from(t, 'utf8'), ','],
    ['windows-1252.csv', windows1252, ';'],
    ['utf16le.txt', (t) => utf16(t, 'le'), '\t'],
    ['utf16be.txt', (t) => utf16(t, 'be'), '\t'],
  ];
  for (const [name, encode, delimiter] of files) {
    it(`reads ${name} (delimiter ${JSON.stringify(delimiter)}): accents, a quoted line break, the right columns`, async () => {
      const text = [['object', 'label', 'summary'].join(delimiter), ['box-1', LABEL, `"first line${delimiter}\r\nsecond ""line"""`].join(delimiter), ''].join('\r\n');
      const file = path.join(tmp.dir, name);
      await writeFile(file, encode(text));
      const rows = await readMetadataCsv(file);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.object, 'box-1', 'the byte order mark is not part of the first header');
      assert.deepEqual(rows[0]!.description.label, { none: [LABEL] });
      assert.deepEqual(rows[0]!.description.summary, { none: [`first line${delimiter}\r\nsecond "line"`] });
      assert.equal(rows[0]!.source, `${name} row 2`);
    });
  }

  it('numbers rows as the spreadsheet does: the header is row 1, a quoted line break stays in its row, blank rows count', async () => {
    const file = path.join(tmp.dir, 'rows.csv');
    await writeFile(
      file,
      ['object,summary', 'a,"two', 'lines"', '', 'b,"three', 'more', 'lines"', ',', 'c,last', ''].join('\n'),
    );
    const rows = await readMetadataCsv(file);
    assert.deepEqual(
      rows.map((r) => [r.object, r.source]),
      [
        ['a', 'rows.csv row 2'],
        ['b', 'rows.csv row 4'],
        ['c', 'rows.csv row 6'],
      ],
    );
  });

  it('names the row where a quoted field is left open', async () => {
    const file = path.join(tmp.dir, 'open.csv');
    await writeFile(file, ['object;summary', 'a;"closed\nhere"', '', 'b;"never', 'closed', ''].join('\r\n'));
    await assert.rejects(readMetadataCsv(file), (error: Error) => {
      assert.equal(error.message, `metadata file ${file}: row 4: a quoted field is not closed`);
      return true;
    });
  });

  it('vitrine convert reports a bad cell by file and spreadsheet row', async () => {
    const masters = path.join(tmp.dir, 'masters');
    await mkdir(path.join(masters, 'box-1'), { recursive: true });
    await pagePicture(1).tiff().toFile(path.join(masters, 'box-1', '001.tif'));
    const csv = path.join(tmp.dir, 'batch.csv');
    // Row 2 spans two lines; row 3 is blank; row 4 has a viewing direction that does not exist.
    await writeFile(csv, windows1252(['object;label;viewingDirection', `box-1;"${LABEL}`, `second line";`, ';;', 'box-1;;sideways', ''].join('\r\n')));
    const result = await vitrine('convert', masters, '--out', path.join(tmp.dir, 'out'), '--metadata', csv, '--dry-run', '--json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as ConversionReport;
    const details = report.anomalies.filter((a) => a.kind === 'metadata').map((a) => a.detail);
    assert.equal(details.length, 1, JSON.stringify(details));
    assert.match(details[0]!, /^batch\.csv row 4: viewingDirection: /);
  });
});
