import { readFile } from 'node:fs/promises';
import { parseYaml } from '../../yaml-text.js';
import { MetadataError } from './description.js';

/** A sidecar's content (YAML, or JSON for `.json`), unchecked; a syntax error names the file. */
export async function readSidecarFile(file: string, relative: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  const json = file.toLowerCase().endsWith('.json');
  try {
    return json ? JSON.parse(text) : await parseYaml(text);
  } catch (error) {
    throw new MetadataError(`${relative}: not valid ${json ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`);
  }
}
