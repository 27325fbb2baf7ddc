import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { convertPage, MasterError } from '../../src/pipeline/convert.js';
import { DEFAULT_SETTINGS } from '../../src/pipeline/default-settings.js';
import { REFERENCE_PNG, tempDirForSuite } from '../helpers/server.js';

describe('convertPage: a derivative that cannot be written is the output\'s fault, not the master\'s', () => {
  const tmp = tempDirForSuite('vitrine-convert-output-');

  it('a missing temporary folder: a plain error naming the file, not a "damaged" master', async () => {
    const master = path.join(tmp.dir, 'page.tif');
    await sharp(REFERENCE_PNG).removeAlpha().resize(300, 200).tiff({ compression: 'lzw' }).toFile(master);
    const gone = path.join(tmp.dir, 'no-such-folder');
    const failure = await convertPage(master, 0, path.join(tmp.dir, 'out', 'page.tif'), gone, DEFAULT_SETTINGS).then(
      () => assert.fail('converted into a folder that is not there'),
      (error: unknown) => error as Error,
    );
    assert.ok(!(failure instanceof MasterError), `blamed on the master: ${failure.message}`);
    assert.match(failure.message, /^cannot write the derivative /);
    assert.ok(failure.message.includes(gone), failure.message);
    // The same master converts where the folder is there.
    const done = await convertPage(master, 0, path.join(tmp.dir, 'out', 'page.tif'), tmp.dir, DEFAULT_SETTINGS);
    assert.deepEqual(done, { width: 300, height: 200 });
  });
});
