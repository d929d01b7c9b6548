import type { EtcdEvent, LiveKey } from './types';

/**
 * The events of a "state at revision R" snapshot: each live key's current version as a put at its
 * mod revision, which is exactly what etcd keeps after compacting at R. Write them with
 * `{ revision: R, compactRevision: R }` so etcd restores at R even when R's own change was a delete.
 * Keys sharing a mod revision (one transaction) get sub revisions in key order, since the original
 * order inside the transaction is not part of the state. Sorts in memory.
 */
export function stateToEvents(state: Iterable<LiveKey>): EtcdEvent[] {
  const sorted = [...state].sort((a, b) => a.modRevision - b.modRevision || Buffer.compare(a.key, b.key));
  const seen = new Set<string>();
  let sub = 0;
  return sorted.map((k, i): EtcdEvent => {
    const id = k.key.toString('latin1');
    if (seen.has(id)) throw new Error(`key ${k.key.toString()} appears twice in the state`);
    seen.add(id);
    sub = i > 0 && sorted[i - 1].modRevision === k.modRevision ? sub + 1 : 0;
    return {
      key: k.key,
      revision: k.modRevision,
      sub,
      type: 'put',
      value: k.value,
      createRevision: k.createRevision,
      version: k.version,
      ...(k.lease === undefined ? {} : { lease: k.lease }),
    };
  });
}

/**
 * Replays events (e.g. a snapshot's) into the live keys etcd would serve, sorted by key bytes as
 * `etcdctl get --prefix` lists them. Holds the live state in memory.
 */
export async function stateFromEvents(
  events: AsyncIterable<EtcdEvent> | Iterable<EtcdEvent>,
): Promise<LiveKey[]> {
  const live = new Map<string, LiveKey>();
  for await (const e of events) {
    const id = e.key.toString('latin1');
    if (e.type === 'delete') {
      live.delete(id);
    } else {
      live.set(id, {
        key: e.key,
        value: e.value ?? Buffer.alloc(0),
        createRevision: e.createRevision,
        modRevision: e.revision,
        version: e.version,
        ...(e.lease === undefined ? {} : { lease: e.lease }),
      });
    }
  }
  return [...live.values()].sort((a, b) => Buffer.compare(a.key, b.key));
}
