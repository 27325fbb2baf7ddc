import path from 'node:path';
import type { SourcedPolicy } from '../pipeline/metadata/collect.js';
import { readSidecarFile } from '../pipeline/metadata/sidecar-file.js';
import type { Anomaly } from '../pipeline/plan.js';
import { ACCESS_FILES, ACCESS_POLICY, scanFolder, type IgnoredFile } from '../pipeline/scan.js';
import type { MasterStore } from '../pipeline/stores.js';
import { effectivePolicy, parsePolicy, type AccessPolicy } from './policy.js';

/**
 * The `access.yml` files of a batch, read as the plan streams by (the walk gives a folder's own
 * files before its subfolders, so every folder above an object has been read when the object
 * comes). A file that cannot be read makes its folder restricted (closed, not open by mistake) and
 * is reported as an `access` anomaly.
 */
export class FolderPolicies {
  private readonly byFolder = new Map<string, SourcedPolicy>();
  readonly anomalies: Anomaly[] = [];

  constructor(private readonly masters: string) {}

  /**
   * The policies that bear on one folder (the ingest of one object): the access files of every
   * folder from the masters root down to it, read as a whole-tree run reads them.
   */
  static async forFolder(masters: string, folder: string, store?: MasterStore): Promise<FolderPolicies> {
    // A remote store copies the access files it lists into its sidecar folder, where they are read.
    const policies = new FolderPolicies(store?.sidecarRoot ?? masters);
    const parts = folder === '.' ? [] : folder.split('/');
    for (let k = 0; k <= parts.length; k++) {
      await policies.addFiles((await scanFolder(masters, k === 0 ? '.' : parts.slice(0, k).join('/'), undefined, store?.readFolder)).ignored);
    }
    return policies;
  }

  /** A step's ignored files: its access policies are read now (the first of access.yml, .yaml, .json in a folder). */
  async addFiles(ignored: readonly IgnoredFile[]): Promise<void> {
    const chosen = new Map<string, string>();
    for (const file of ignored) {
      if (file.reason !== ACCESS_POLICY) continue;
      const folder = path.posix.dirname(file.relativePath);
      const rank = (f: string): number => ACCESS_FILES.indexOf(path.posix.basename(f).toLowerCase());
      const earlier = chosen.get(folder);
      if (earlier === undefined || rank(file.relativePath) < rank(earlier)) chosen.set(folder, file.relativePath);
    }
    for (const [folder, relative] of chosen) {
      if (this.byFolder.has(folder)) continue;
      try {
        const document = await readSidecarFile(path.join(this.masters, ...relative.split('/')), relative);
        this.byFolder.set(folder, { input: parsePolicy(document, relative), source: relative });
      } catch (error) {
        this.anomalies.push({ object: folder, kind: 'access', detail: `${(error as Error).message}; everything below ${folder} is restricted until it is fixed` });
        this.byFolder.set(folder, { input: { access: 'restricted' }, source: relative });
      }
    }
  }

  /** An object's effective policy: the access.yml of each folder from the root down, then its sidecar's keys. */
  policyOf(folder: string, own: SourcedPolicy | undefined): { policy: AccessPolicy; sources: string[] } {
    const chain: SourcedPolicy[] = [];
    const parts = folder === '.' ? [] : folder.split('/');
    for (let k = 0; k <= parts.length; k++) {
      const found = this.byFolder.get(k === 0 ? '.' : parts.slice(0, k).join('/'));
      if (found) chain.push(found);
    }
    if (own) chain.push(own);
    return { policy: effectivePolicy(chain.map((c) => c.input)), sources: chain.map((c) => c.source) };
  }
}
