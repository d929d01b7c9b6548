import { randomBytes } from 'crypto';
import type { BranchInfo } from '@kubetime/event-store';
import { TimeTravelContext } from './context';
import { Params } from './params';
import { RpcCodes, RpcError } from './rpc';
import type { Session } from './session';

export function branchView(info: BranchInfo): Record<string, unknown> {
  return {
    name: info.name,
    parent: info.parent,
    forkRevision: info.forkRevision,
    headRevision: info.headRevision,
    compactRevision: info.compactRevision,
    clock: info.clock,
    createdAt: info.createdAt.toISOString(),
  };
}

/** branch.create, branch.list, branch.reset and branch.delete over the branch catalog. */
export class BranchMethods {
  constructor(private readonly ctx: TimeTravelContext) {}

  async create(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    await this.ctx.requireWrite(session, 'branch.create');
    const name = params.string('name');
    const from = await this.ctx.point(params.optionalObject('from') ?? new Params({}));
    const clock = this.clock(params);
    // A fork is one row: its cost does not depend on how much history sits below it.
    const info = await this.ctx.events.branches.fork(name, from.branch, from.revision, clock);
    // A branch is a live cluster from its first moment: its own nodes, scheduler and controllers,
    // run by whichever server process holds the controller Lease (that one picks it up on its own).
    if (this.ctx.branchControllers?.active) await this.ctx.branchControllers.start(info);
    return branchView(info);
  }

  async list(): Promise<unknown> {
    return { items: (await this.ctx.events.branches.list()).map(branchView) };
  }

  /**
   * The log is append-only, so a reset does not rewrite anything: the branch is deleted (its events
   * stay, as every deletion keeps them) and a new branch of the same name is forked at the revision.
   * To keep the branch's own events below that revision, the fork goes through a hidden branch
   * forked from the old one first, which is then deleted as well; lineage reads walk branch ids, so
   * deleted ancestors still serve their history.
   */
  async reset(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    await this.ctx.requireWrite(session, 'branch.reset');
    const name = params.string('name');
    if (name === 'main')
      throw new RpcError(
        RpcCodes.Forbidden,
        'main is the live cluster and cannot be reset: fork a branch from it instead',
      );
    const point = await this.ctx.point(new Params({ branch: name, revision: raw.revision, time: raw.time }));
    const old = await this.ctx.events.branches.get(name);
    const hidden = `reset-${randomBytes(8).toString('hex')}`;
    // The controllers stop before the rewind and start afresh on the reset branch, clock included.
    await this.ctx.branchControllers?.stop(name);
    await this.ctx.events.branches.fork(hidden, name, point.revision, old.clock);
    await this.ctx.events.deleteBranch(name);
    const info = await this.ctx.events.branches.fork(name, hidden, point.revision, old.clock);
    await this.ctx.events.deleteBranch(hidden);
    if (this.ctx.branchControllers?.active)
      await this.ctx.branchControllers.start(await this.ctx.events.branches.get(info.name));
    return { ...branchView(await this.ctx.events.branches.get(info.name)), resetFrom: old.headRevision };
  }

  async delete(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    await this.ctx.requireWrite(session, 'branch.delete');
    const name = params.string('name');
    if (name === 'main')
      throw new RpcError(RpcCodes.Forbidden, 'main is the live cluster and cannot be deleted');
    await this.ctx.events.branches.get(name);
    await this.ctx.branchControllers?.stop(name);
    await this.ctx.events.deleteBranch(name);
    return { name, deleted: true };
  }

  private clock(params: Params): 'wall' | 'virtual' {
    return params.oneOf('clock', ['wall', 'virtual'] as const, 'wall');
  }
}
