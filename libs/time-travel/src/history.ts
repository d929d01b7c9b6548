import { compare } from 'fast-json-patch';
import { RawJsonArray, type KubeObject } from '@kubetime/api-machinery';
import { keyOf, TimeTravelContext, typeByName } from './context';
import { compileFilter } from './filter';
import { invalid, Params } from './params';
import type { Session } from './session';
import {
  Body,
  eventSubject,
  eventView,
  EventView,
  ignoreList,
  objectSubject,
  visible,
  withoutIgnored,
} from './views';

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;
/** A page stops after scanning this many events even with few matches; the cursor resumes the scan. */
const MAX_SCAN = 20_000;
const SCAN_BATCH = 2000;
const MAX_VERSIONS = 10_000;

/** history.head, history.events, history.object and state.get. */
export class HistoryMethods {
  constructor(private readonly ctx: TimeTravelContext) {}

  async head(raw: Record<string, unknown>): Promise<unknown> {
    const params = new Params(raw);
    const branch = params.optionalString('branch') ?? 'main';
    const head = await this.ctx.events.branch(branch);
    const info = await this.ctx.events.branches.get(branch);
    const [last] =
      head.revision - 1 > Math.max(head.compactRevision, 0)
        ? await this.ctx.events.events(branch, head.revision - 1, head.revision, 1)
        : [];
    return {
      branch,
      revision: head.revision,
      time: last?.recordedAt.toISOString() ?? null,
      objects: head.count(),
      compactRevision: head.compactRevision,
      parent: info.parent,
      forkRevision: info.forkRevision,
      clock: info.clock,
    };
  }

  async events(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    const branch = params.optionalString('branch') ?? 'main';
    const redact = await this.ctx.redactor(session, params, branch);
    const filter = compileFilter(params.optionalObject('filter'), { events: true });
    const head = await this.ctx.events.branch(branch);
    const limit = params.optionalInteger('limit', 1, MAX_PAGE) ?? DEFAULT_PAGE;
    const withObjects = raw.objects !== false;
    const to = Math.min(params.optionalInteger('to', 0) ?? head.revision, head.revision);
    let after = params.has('cursor')
      ? decodeCursor(params.string('cursor'))
      : firstAfter((params.optionalInteger('from', 1) ?? 1) - 1, head.compactRevision);
    const items: EventView[] = [];
    let scanned = 0;
    while (after < to && items.length < limit && scanned < MAX_SCAN) {
      const batch = await this.ctx.events.events(branch, after, to, SCAN_BATCH, 'raw');
      if (!batch.length) break;
      for (const event of batch) {
        after = event.revision;
        scanned++;
        const object = visible(event.object, redact);
        if (filter(eventSubject(event, object)))
          items.push(eventView(event, withObjects ? object : undefined));
        if (items.length >= limit) break;
      }
    }
    return { branch, items, cursor: after < to ? encodeCursor(after) : null, scannedTo: after, to };
  }

  async object(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    const branch = params.optionalString('branch') ?? 'main';
    const redact = await this.ctx.redactor(session, params, branch);
    const type = typeByName(params.string('kind'), params.optionalString('apiVersion'));
    const namespace = params.optionalString('namespace');
    const name = params.string('name');
    const ignore = ignoreList(params);
    const key = keyOf(type, namespace, name);
    const history = await this.ctx.log.keyHistory(branch, key, MAX_VERSIONS);
    if (!history.length)
      throw invalid(
        `${type.kind} ${namespace ? `${namespace}/` : ''}${name} never existed on branch "${branch}"`,
      );
    let previous: KubeObject | undefined;
    const versions = history.map((event) => {
      const object = redact(event.object);
      const compared = withoutIgnored(object, ignore);
      // A re-creation after a delete starts from nothing, like the first version.
      const base = previous && event.type !== 'ADDED' ? previous : {};
      previous = event.type === 'DELETED' ? undefined : compared;
      return { ...eventView(event, object), patch: event.type === 'DELETED' ? [] : compare(base, compared) };
    });
    return { branch, key, kind: type.kind, namespace: namespace ?? null, name, versions };
  }

  async state(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    const point = await this.ctx.point(params);
    const redact = await this.ctx.redactor(session, params, point.branch);
    const filter = compileFilter(params.optionalObject('filter'), { events: false });
    const limit = params.optionalInteger('limit', 1, 100_000);
    const items = new RawJsonArray<Body>();
    // Past objects that need no per-object work go to the client as the bytes PostgreSQL holds.
    const state = await this.ctx.state(point, undefined, 'raw');
    for (const stored of state.items) {
      const object = visible(stored.object, redact);
      if (!filter.matchesAll && !filter(objectSubject(object, stored.resource))) continue;
      if (limit !== undefined && items.length >= limit) break;
      items.push(object);
    }
    return { branch: point.branch, revision: point.revision, items, incomplete: state.incomplete };
  }
}

/**
 * Where a forward scan may start. Revision 1 never holds an event (main's first write is 2, as
 * etcd's is), and the event store refuses a scan that starts at or below the compaction point.
 */
export function firstAfter(after: number, compactRevision: number): number {
  return Math.max(after, compactRevision, 1);
}

function encodeCursor(after: number): string {
  return Buffer.from(JSON.stringify({ after })).toString('base64url');
}

function decodeCursor(cursor: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'number' && Number.isSafeInteger(parsed.after) && parsed.after >= 0)
      return parsed.after;
  } catch {
    // reported below
  }
  throw invalid('cursor is not one this server returned');
}
