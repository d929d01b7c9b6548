import {
  RESOURCE_TYPES,
  storageKey,
  storageTypeOf,
  type KubeObject,
  type ResourceType,
} from '@kubetime/api-machinery';
import type { Authorizer, ResourceAttributes, ResourceStore } from '@kubetime/apiserver';
import { redactSecret } from '@kubetime/encryption';
import type { Body, BodyForm, EventStore } from '@kubetime/event-store';
import type { BranchControllers, RunningBranch } from './branch-controllers';
import { invalid, Params } from './params';
import { RpcCodes, RpcError } from './rpc';
import type { Session } from './session';
import { LogReader } from './store';
import type { Redact } from './views';

export interface TimeTravelOptions {
  events: EventStore;
  resources: ResourceStore;
  authorizer: Authorizer;
  /** Server-held key for the HMAC markers that stand in for Secret values. */
  pepper: Buffer;
  now?: () => Date;
  /** Present when the server runs controllers: every branch but main then gets its own. */
  branchControllers?: BranchControllers;
}

/** One live object of a state read. */
export interface StateItem<B extends Body<BodyForm> = KubeObject> {
  key: string;
  object: B;
  revision: number;
  branchId: number;
  resource: string;
}

/** A point in a branch's history. */
export interface Point {
  branch: string;
  revision: number;
}

/** Shared services of the method implementations: the stores, permissions, redaction, points in time. */
export class TimeTravelContext {
  readonly events: EventStore;
  readonly resources: ResourceStore;
  readonly log: LogReader;
  readonly now: () => Date;
  readonly branchControllers?: BranchControllers;

  constructor(private readonly options: TimeTravelOptions) {
    this.events = options.events;
    this.branchControllers = options.branchControllers;
    this.resources = options.resources;
    this.log = new LogReader(options.events);
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Secret values stay hidden unless the request says `reveal: true` and the caller may read Secrets
   * through the API on that branch; asking without the right is an error, not a silent redaction.
   */
  async redactor(session: Session, params: Params, branch: string): Promise<Redact> {
    if (!params.boolean('reveal')) return (object) => redactSecret(object, this.options.pepper);
    const { allowed } = await this.options.authorizer.authorizeResource(session.user, branch, {
      verb: 'get',
      group: '',
      resource: 'secrets',
    });
    if (!allowed) {
      throw new RpcError(
        RpcCodes.Forbidden,
        `reveal: user "${session.user.username}" may not read secrets on branch "${branch}"`,
      );
    }
    return (object) => object;
  }

  /** Creating, resetting, deleting and restoring branches need POST on the /timetravel path. */
  async requireWrite(session: Session, what: string): Promise<void> {
    if (!(await this.options.authorizer.authorizePath(session.user, 'main', '/timetravel', 'post'))) {
      throw new RpcError(
        RpcCodes.Forbidden,
        `${what}: user "${session.user.username}" may not change branches (needs "post" on the non-resource URL /timetravel)`,
      );
    }
  }

  /** A write through the API on a caller's behalf needs the RBAC a kubectl request would. */
  async requireResource(
    session: Session,
    branch: string,
    attrs: ResourceAttributes,
    what: string,
  ): Promise<void> {
    const { allowed } = await this.options.authorizer.authorizeResource(session.user, branch, attrs);
    if (!allowed) {
      throw new RpcError(
        RpcCodes.Forbidden,
        `${what}: user "${session.user.username}" may not ${attrs.verb} ${attrs.resource}${attrs.name ? ` "${attrs.name}"` : ''} on branch "${branch}"`,
      );
    }
  }

  /** The control plane of a branch, or a clear error when the server runs none there. */
  async controllersOf(branch: string): Promise<RunningBranch> {
    await this.events.branches.get(branch);
    if (this.branchControllers && !this.branchControllers.active) throw notLeading();
    const running = this.branchControllers?.get(branch);
    if (!running) {
      throw new RpcError(
        RpcCodes.Unavailable,
        branch === 'main'
          ? 'main runs on the wall clock; clocks and re-execution work on branches'
          : `no controllers run on branch "${branch}": the server was started with KUBETIME_CONTROLLERS=off`,
      );
    }
    return running;
  }

  /** `{branch, revision | time}` -> a readable revision (the head when neither is given). */
  async point(params: Params, defaultBranch = 'main'): Promise<Point> {
    const branch = params.optionalString('branch') ?? defaultBranch;
    const head = await this.events.branch(branch);
    const revision = params.optionalInteger('revision', 1);
    const time = params.optionalTime('time');
    if (revision !== undefined && time)
      throw invalid(`give ${params.field('revision')} or ${params.field('time')}, not both`);
    if (revision !== undefined) {
      if (revision > head.revision)
        throw invalid(
          `${params.field('revision')} ${revision} is newer than the head of branch "${branch}" (${head.revision})`,
        );
      if (revision <= head.compactRevision) {
        throw new RpcError(
          RpcCodes.Gone,
          `revision ${revision} of branch "${branch}" has been compacted (oldest available: ${head.compactRevision + 1})`,
        );
      }
      return { branch, revision };
    }
    if (time) return { branch, revision: await this.log.revisionAt(branch, time) };
    return { branch, revision: head.revision };
  }

  /**
   * Live objects at a point, read from the branch head when the point is the head, bodies in the
   * form asked for (see BodyForm). Resources a
   * retention rule compacted above the point are left out and named in `incomplete`, so a caller
   * never takes a partial history of theirs for the state.
   */
  async state<F extends BodyForm = 'decoded'>(
    point: Point,
    prefix = '/registry/',
    form?: F,
  ): Promise<{
    items: StateItem<Body<F>>[];
    incomplete: { resource: string; oldestAvailable: number }[];
  }> {
    const listed = await this.events.list(point.branch, prefix, point.revision, form);
    return {
      items: listed.items.map((o) => ({
        key: o.key,
        object: o.object,
        revision: o.revision,
        branchId: o.branchId,
        resource: resourceOfKey(o.key),
      })),
      incomplete: listed.incomplete.map((i) => ({
        resource: resourceOfKey(i.keyPrefix),
        oldestAvailable: i.oldestAvailable,
      })),
    };
  }
}

/** `/registry/deployments/ns/web` -> `deployments`; `/registry/services/specs/ns/x` -> `services`. */
export function resourceOfKey(key: string): string {
  // Runs for every object of a state read: two searches instead of an array of every segment.
  const second = key.indexOf('/', key.indexOf('/') + 1);
  if (second < 0) return '';
  const start = second + 1;
  const end = key.indexOf('/', start);
  return key.slice(start, end < 0 ? undefined : end);
}

/** The resource type a caller means by a kind (`Deployment`), a resource (`deployments`) or a short name. */
export function typeByName(name: string, apiVersion?: string): ResourceType {
  const wanted = name.toLowerCase();
  const candidates = RESOURCE_TYPES.filter(
    (t) =>
      !t.virtual &&
      (t.kind.toLowerCase() === wanted ||
        t.resource === wanted ||
        t.singular === wanted ||
        t.shortNames.includes(wanted)),
  );
  const chosen = apiVersion
    ? candidates.find((t) => (t.group ? `${t.group}/${t.version}` : t.version) === apiVersion)
    : candidates[0];
  if (!chosen) throw invalid(`unknown kind "${name}"${apiVersion ? ` in ${apiVersion}` : ''}`);
  return storageTypeOf(chosen);
}

export function keyOf(type: ResourceType, namespace: string | undefined, name: string): string {
  if (type.namespaced && !namespace) throw invalid(`${type.kind} is namespaced: give a namespace`);
  return storageKey(type, type.namespaced ? namespace : undefined, name);
}

/** Branch clocks and re-execution live where the controllers run: in the Lease holder. */
export function notLeading(): RpcError {
  return new RpcError(
    RpcCodes.Unavailable,
    'this server is on standby: branch controllers, clocks and re-execution run in the server holding the Lease kube-system/kubetime-controller-manager',
  );
}
