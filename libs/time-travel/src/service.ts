import { StatusError } from '@kubetime/api-machinery';
import type { UserInfo } from '@kubetime/apiserver';
import {
  BranchExists,
  FutureRevision,
  InvalidBranchName,
  PreconditionFailed,
  RevisionCompacted,
  UnknownBranch,
} from '@kubetime/event-store';
import { BranchMethods } from './branches';
import { ClockMethods } from './clock';
import { ExplainMethod } from './explain';
import { ReexecuteMethod } from './reexecute';
import { RetentionMethods } from './retention';
import { TimeTravelContext, TimeTravelOptions } from './context';
import { DiffMethod } from './diff';
import { HistoryMethods } from './history';
import { NodeMethods } from './nodes';
import { ReplayMethods } from './replay';
import { RpcCodes, RpcDispatcher, RpcError, RpcResponse } from './rpc';
import { Session, Sink } from './session';
import { SnapshotMethods } from './snapshot';
import { WatchMethods } from './watch';

/** Messages above this get an error; the transport should accept somewhat more so it can answer. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * The time-travel API: JSON-RPC 2.0 methods over the event store, independent of the transport.
 * The server opens a session per authenticated connection and passes every message to `handle`.
 */
export class TimeTravelService {
  private readonly dispatcher = new RpcDispatcher<Session>(MAX_MESSAGE_BYTES, mapError);

  constructor(options: TimeTravelOptions) {
    const ctx = new TimeTravelContext(options);
    const history = new HistoryMethods(ctx);
    const diff = new DiffMethod(ctx);
    const branches = new BranchMethods(ctx);
    const watch = new WatchMethods(ctx);
    const replay = new ReplayMethods(ctx);
    const snapshot = new SnapshotMethods(ctx);
    const clock = new ClockMethods(ctx);
    const reexecute = new ReexecuteMethod(ctx);
    const explain = new ExplainMethod(ctx);
    const retention = new RetentionMethods(ctx);
    const nodes = new NodeMethods(ctx);
    const methods: Record<string, (params: Record<string, unknown>, session: Session) => Promise<unknown>> = {
      'history.head': (p) => history.head(p),
      'history.events': (p, s) => history.events(p, s),
      'history.object': (p, s) => history.object(p, s),
      'state.get': (p, s) => history.state(p, s),
      diff: (p, s) => diff.diff(p, s),
      'branch.create': (p, s) => branches.create(p, s),
      'branch.list': () => branches.list(),
      'branch.reset': (p, s) => branches.reset(p, s),
      'branch.delete': (p, s) => branches.delete(p, s),
      'watch.subscribe': (p, s) => watch.subscribe(p, s),
      'watch.unsubscribe': (p, s) => watch.unsubscribe(p, s),
      'replay.start': (p, s) => replay.start(p, s),
      'replay.pause': (p, s) => replay.pause(p, s),
      'replay.resume': (p, s) => replay.resume(p, s),
      'replay.step': (p, s) => replay.step(p, s),
      'replay.seek': (p, s) => replay.seek(p, s),
      'replay.stop': (p, s) => replay.stop(p, s),
      'clock.advance': (p, s) => clock.advance(p, s),
      'clock.runUntil': (p, s) => clock.runUntil(p, s),
      'replay.reexecute': (p, s) => reexecute.reexecute(p, s),
      explain: (p, s) => explain.explain(p, s),
      'retention.compact': (p, s) => retention.compact(p, s),
      'retention.history': (p) => retention.history(p),
      'snapshot.save': (p, s) => snapshot.save(p, s),
      'snapshot.restore': (p, s) => snapshot.restore(p, s),
      'snapshot.upload': (p, s) => snapshot.upload(p, s),
      'snapshot.commit': (p, s) => snapshot.commit(p, s),
      'snapshot.abort': (p, s) => snapshot.abort(p, s),
      'node.stop': (p, s) => nodes.stop(p, s),
      'node.start': (p, s) => nodes.start(p, s),
      'rpc.methods': async () => ({ methods: this.dispatcher.methodNames }),
    };
    for (const [name, method] of Object.entries(methods)) this.dispatcher.register(name, method);
  }

  openSession(user: UserInfo, sink: Sink): Session {
    return new Session(user, sink);
  }

  handle(message: string, session: Session): Promise<RpcResponse[]> {
    return this.dispatcher.handle(message, session);
  }
}

function mapError(error: unknown): RpcError | undefined {
  if (error instanceof UnknownBranch) return new RpcError(RpcCodes.NotFound, error.message);
  if (error instanceof RevisionCompacted)
    return new RpcError(RpcCodes.Gone, error.message, { oldestAvailable: error.compacted });
  if (error instanceof FutureRevision) return new RpcError(RpcCodes.InvalidParams, error.message);
  if (error instanceof BranchExists) return new RpcError(RpcCodes.Conflict, error.message);
  if (error instanceof InvalidBranchName) return new RpcError(RpcCodes.InvalidParams, error.message);
  if (error instanceof PreconditionFailed) return new RpcError(RpcCodes.Conflict, error.message);
  if (error instanceof StatusError) {
    const code =
      error.code === 400 || error.code === 422
        ? RpcCodes.InvalidParams
        : error.code === 403
          ? RpcCodes.Forbidden
          : error.code === 404
            ? RpcCodes.NotFound
            : error.code === 409
              ? RpcCodes.Conflict
              : error.code === 410
                ? RpcCodes.Gone
                : RpcCodes.InternalError;
    return new RpcError(code, error.message, { status: error.toStatus() });
  }
  if (error instanceof Error && error.message.startsWith('too many open streams'))
    return new RpcError(RpcCodes.InvalidRequest, error.message);
  return undefined;
}
