/**
 * YAML.parse with the library loaded on its first use: loading it costs ~40 ms of CPU, which a
 * `vitrine convert` of a batch without rules or sidecar files need not pay at start-up.
 */
export async function parseYaml(text: string): Promise<unknown> {
  const { parse } = await import('yaml');
  return parse(text);
}
