import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { namingAnomalies, naturalCompare, orderPages, parseFolderNames } from '../../src/pipeline/naming.js';
import { applyRules, parseRules, RulesError } from '../../src/pipeline/rules.js';

const order = (names: string[]): string[] => orderPages(names.map((name) => ({ name }))).map((m) => m.name);

describe('page order from legacy names', () => {
  it('orders naturally: page2 before page10, case aside', () => {
    assert.deepEqual(['page10.tif', 'Page2.tif', 'page1.tif'].sort(naturalCompare), ['page1.tif', 'Page2.tif', 'page10.tif']);
    assert.deepEqual(order(['page10.png', 'page2.png', 'page1.png']), ['page1.png', 'page2.png', 'page10.png']);
  });

  it('reads the page number whatever the spelling of the rest of the name', () => {
    const names = ['fa002 box1 folder2 004.tif', 'FA002_B1_F2_003.tif', 'fa002-box1-folder2-001.TIF', 'fa002-box1-folder2-010.tif'];
    assert.deepEqual(
      parseFolderNames(names).map((p) => p.sequence),
      [4, 3, 1, 10],
    );
    assert.deepEqual(order(names), ['fa002-box1-folder2-001.TIF', 'FA002_B1_F2_003.tif', 'fa002 box1 folder2 004.tif', 'fa002-box1-folder2-010.tif']);
  });

  it('puts recto before verso of the same leaf', () => {
    assert.deepEqual(order(['002r.tif', '001v.tif', '001r.tif', '002v.tif']), ['001r.tif', '001v.tif', '002r.tif', '002v.tif']);
    assert.deepEqual(order(['ms12_f003_verso.tif', 'ms12_f003_recto.tif', 'ms12_f002_v.tif']), ['ms12_f002_v.tif', 'ms12_f003_recto.tif', 'ms12_f003_verso.tif']);
  });

  it('counts in the first number when that is what tells the names apart', () => {
    assert.deepEqual(order(['02-rgb16.tif', '10-alpha.png', '01-lzw.tif', '07-display-p3.tif']), ['01-lzw.tif', '02-rgb16.tif', '07-display-p3.tif', '10-alpha.png']);
  });

  it('places names without a number after the numbered pages', () => {
    assert.deepEqual(order(['cover.tif', 'img_0002.tif', 'img_0001.tif', 'back.tif']), ['img_0001.tif', 'img_0002.tif', 'back.tif', 'cover.tif']);
  });
});

describe('naming anomalies', () => {
  it('finds gaps in the numbering, listing what is missing', () => {
    const anomalies = namingAnomalies(['p001.tif', 'p002.tif', 'p005.tif', 'p009.tif']);
    assert.deepEqual(anomalies, [{ kind: 'gap', detail: 'missing numbers 3–4, 6–8' }]);
  });

  it('finds two files with the same number and side', () => {
    const anomalies = namingAnomalies(['scan_001.tif', 'scan_002.tif', 'scan_002.jpg', '003r.tif', '003v.tif']);
    assert.deepEqual(anomalies.filter((a) => a.kind === 'duplicate').map((a) => a.detail), ["number 2 is used by 'scan_002.tif', 'scan_002.jpg'"]);
  });

  it('finds several spellings of the names in one folder', () => {
    const anomalies = namingAnomalies(['fa002-box1-folder2-001.TIF', 'FA002_B1_F2_002.tif', 'fa002 box1 folder2 003.tif']);
    assert.equal(anomalies.length, 1);
    assert.equal(anomalies[0]!.kind, 'mixed-patterns');
    assert.match(anomalies[0]!.detail, /3 spellings/);
    assert.match(anomalies[0]!.detail, /'fa#-box#-folder#-#' \(1, e\.g\. 'fa002-box1-folder2-001\.TIF'\)/);
  });

  it('finds unnumbered files among numbered ones', () => {
    const anomalies = namingAnomalies(['page1.tif', 'page2.tif', 'cover.tif']);
    assert.deepEqual(anomalies.map((a) => a.kind), ['unnumbered']);
    assert.match(anomalies[0]!.detail, /'cover\.tif'/);
  });

  it('finds nothing wrong in a clean folder, sides included', () => {
    assert.deepEqual(namingAnomalies(['001r.tif', '001v.tif', '002r.tif', '002v.tif']), []);
    assert.deepEqual(namingAnomalies(['page1.png', 'page2.png', 'page10.png'].slice(0, 2)), []);
    assert.deepEqual(namingAnomalies(['cover.tif', 'back.tif']), []);
  });
});

describe('naming rules', () => {
  it('takes object, sequence and side from named groups, first matching rule first', () => {
    const rules = parseRules({
      rules: [
        { pattern: '^(?<object>ms\\d+)_f(?<sequence>\\d+)(?<side>[rv])\\.tif$' },
        { pattern: '^(?<coll>[a-z]+)(?<box>\\d+)-(?<sequence>\\d+)\\.jpg$', object: '{coll}/box-{box}' },
        { pattern: '^maps/(?<object>[^/]+)\\.tif$', on: 'path' },
      ],
    });
    assert.deepEqual(applyRules(rules, 'flat/MS12_f003v.tif'), { object: 'MS12', sequence: 3, side: 'v' });
    assert.deepEqual(applyRules(rules, 'FA7-0012.jpg'), { object: 'FA/box-7', sequence: 12, side: undefined });
    assert.deepEqual(applyRules(rules, 'maps/sheet-4.tif'), { object: 'sheet-4', sequence: undefined, side: undefined });
    assert.equal(applyRules(rules, 'other/readme-scan.png'), undefined);
  });

  it('refuses bad rules with a message naming the rule and the field', () => {
    const fails = (input: unknown, message: RegExp): void => assert.throws(() => parseRules(input), (e: unknown) => e instanceof RulesError && message.test(e.message));
    fails({ rules: [] }, /at least one rule/);
    fails({ rules: [{ pattern: '(' }] }, /rules\.0\.pattern: Invalid regular expression/);
    fails({ rules: [{ pattern: '^(?<sequence>\\d+)' }] }, /rules\.0: the pattern has no \(\?<object>…\) group/);
    fails({ rules: [{ pattern: '^(?<box>\\d+)', object: '{coll}' }] }, /rules\.0\.object: '\{coll\}' is not a named group/);
    fails({ rules: [{ pattern: '^(?<object>x)', colour: 'red' }] }, /rules\.0: Unrecognized key/);
  });
});
