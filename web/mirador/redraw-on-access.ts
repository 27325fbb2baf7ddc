/**
 * Mirador 4.0 does not redraw an image whose access changed. After a login (or a logout) it fetches
 * the image's info.json again and stores the new description, but its OpenSeadragon layer is keyed
 * by the info.json URL only, which stays the same, so the restricted (or degraded) picture stays on
 * screen until the page is reloaded. This watches Mirador's store: when a description it already
 * drew comes back different (another tier: other sizes, tiles or id), it asks Mirador to load that
 * image again, which takes the layer down and draws the one now allowed. Nothing else changes.
 */

interface InfoResponse {
  readonly isFetching?: boolean;
  readonly json?: Record<string, unknown>;
}

export interface MiradorStore {
  /** Mirador's state at the top of the store (no `state.slice` is configured). */
  getState(): { readonly infoResponses?: Readonly<Record<string, InfoResponse>> };
  dispatch(action: Record<string, unknown>): unknown;
  subscribe(listener: () => void): () => void;
}

/** What tells one tier of an image from another: the id it is described under, its sizes and tiles. */
const tierOf = (json: Record<string, unknown>): string => JSON.stringify([json.id ?? json['@id'], json.sizes, json.tiles, json.width]);

export function redrawOnAccessChange(store: MiradorStore): void {
  const drawn = new Map<string, string>();
  store.subscribe(() => {
    const responses = store.getState().infoResponses ?? {};
    for (const [infoId, response] of Object.entries(responses)) {
      if (response.isFetching || !response.json) continue;
      const tier = tierOf(response.json);
      const before = drawn.get(infoId);
      drawn.set(infoId, tier);
      // REQUEST_INFO_RESPONSE marks it fetching, so Mirador removes the layer and adds it back when the answer comes.
      if (before !== undefined && before !== tier) store.dispatch({ type: 'mirador/REQUEST_INFO_RESPONSE', infoId });
    }
  });
}
