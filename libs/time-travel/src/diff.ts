import { compare, type Operation } from 'fast-json-patch';
import type { KubeObject } from '@kubetime/api-machinery';
import { TimeTravelContext } from './context';
import { compileFilter } from './filter';
import { Params } from './params';
import type { Session } from './session';
import { ignoreList, objectSubject, withoutIgnored } from './views';

interface Ref {
  key: string;
  kind: string;
  namespace: string | null;
  name: string;
}

/**
 * diff: objects added, removed and changed between two points (two revisions of one branch, or two
 * branches), each change an RFC 6902 patch from the `from` version to the `to` version. Objects are
 * matched by storage key, so a delete and re-create with a new uid is a change of that key.
 */
export class DiffMethod {
  constructor(private readonly ctx: TimeTravelContext) {}

  async diff(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    const fromParams = params.object('from');
    const toParams = params.object('to');
    const from = await this.ctx.point(fromParams);
    const to = await this.ctx.point(toParams, from.branch);
    // Revealing must be allowed on both sides.
    const redactFrom = await this.ctx.redactor(session, params, from.branch);
    const redactTo =
      to.branch === from.branch ? redactFrom : await this.ctx.redactor(session, params, to.branch);
    const filter = compileFilter(params.optionalObject('filter'), { events: false });
    const ignore = ignoreList(params);
    const withObjects = raw.objects !== false;
    // Resources compacted by a retention rule above either point: left out of the comparison.
    const incomplete: { resource: string; oldestAvailable: number }[] = [];

    const load = async (point: typeof from, redact: (o: KubeObject) => KubeObject) => {
      const found = new Map<string, { ref: Ref; object: KubeObject; revision: number; branchId: number }>();
      const state = await this.ctx.state(point);
      incomplete.push(...state.incomplete);
      for (const stored of state.items) {
        const object = redact(stored.object);
        if (!filter(objectSubject(object, stored.resource))) continue;
        const ref = {
          key: stored.key,
          kind: object.kind ?? '',
          namespace: object.metadata.namespace ?? null,
          name: object.metadata.name ?? '',
        };
        found.set(stored.key, { ref, object, revision: stored.revision, branchId: stored.branchId });
      }
      return found;
    };
    const [before, after] = await Promise.all([load(from, redactFrom), load(to, redactTo)]);

    const added: (Ref & { revision: number; object?: KubeObject })[] = [];
    const removed: (Ref & { revision: number; object?: KubeObject })[] = [];
    const changed: (Ref & { fromRevision: number; toRevision: number; patch: Operation[] })[] = [];
    let unchanged = 0;
    for (const [key, old] of before) {
      const current = after.get(key);
      if (!current) {
        removed.push({
          ...old.ref,
          revision: old.revision,
          ...(withObjects ? { object: withoutIgnored(old.object, ignore) } : {}),
        });
        continue;
      }
      // The same event on both sides (same branch, or history shared below a fork) cannot differ.
      if (current.revision === old.revision && current.branchId === old.branchId) {
        unchanged++;
        continue;
      }
      const patch = compare(withoutIgnored(old.object, ignore), withoutIgnored(current.object, ignore));
      if (patch.length)
        changed.push({ ...current.ref, fromRevision: old.revision, toRevision: current.revision, patch });
      else unchanged++;
    }
    for (const [key, current] of after) {
      if (!before.has(key))
        added.push({
          ...current.ref,
          revision: current.revision,
          ...(withObjects ? { object: withoutIgnored(current.object, ignore) } : {}),
        });
    }
    const byKey = (a: Ref, b: Ref) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    return {
      from,
      to,
      ignore: [...ignore],
      added: added.sort(byKey),
      removed: removed.sort(byKey),
      changed: changed.sort(byKey),
      unchanged,
      incomplete: [...new Map(incomplete.map((i) => [i.resource, i])).values()],
    };
  }
}
