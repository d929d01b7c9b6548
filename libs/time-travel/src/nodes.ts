import { findResourceType } from '@kubetime/api-machinery';
import type { RequestContext } from '@kubetime/apiserver';
import { SIMULATED_STATE } from '@kubetime/controllers';
import { TimeTravelContext } from './context';
import { Params } from './params';
import { RpcCodes, RpcError } from './rpc';
import type { Session } from './session';

const NODES = findResourceType('', 'v1', 'nodes')!;
/** Set by the node pool on the Nodes whose kubelets it simulates. */
const SIMULATED = 'kubetime.io/simulated';

/**
 * node.stop and node.start: a simulated node's kubelet stops (no Lease renewals, no status, no pod
 * work) or runs again. They set or clear the node's `kubetime.io/simulated-state` annotation through
 * the apiserver's write path as the caller, exactly what `kubectl annotate` would record, so the
 * history shows who stopped the node and the controllers react to the event like any other.
 */
export class NodeMethods {
  constructor(private readonly ctx: TimeTravelContext) {}

  stop(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    return this.setState(raw, session, 'node.stop', 'stopped');
  }

  start(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    return this.setState(raw, session, 'node.start', 'running');
  }

  private async setState(
    raw: Record<string, unknown>,
    session: Session,
    method: string,
    state: 'stopped' | 'running',
  ): Promise<unknown> {
    const params = new Params(raw);
    await this.ctx.requireWrite(session, method);
    const branch = params.optionalString('branch') ?? 'main';
    const name = params.string('name');
    await this.ctx.events.branches.get(branch);
    await this.ctx.requireResource(
      session,
      branch,
      { verb: 'patch', group: '', resource: 'nodes', name },
      method,
    );
    const request: RequestContext = {
      user: session.user,
      branch,
      now: this.ctx.now(),
      userAgent: `kubetime/${method}`,
    };
    const node = await this.ctx.resources.get(request, NODES, undefined, name);
    if (node.metadata.annotations?.[SIMULATED] !== 'true') {
      throw new RpcError(
        RpcCodes.InvalidParams,
        `node "${name}" is not simulated by kubetime (no ${SIMULATED}: "true" annotation): there is no kubelet here to ${state === 'stopped' ? 'stop' : 'start'}`,
      );
    }
    // A merge patch, so a concurrent write to the node (a heartbeat) is retried, not lost or refused.
    const patch = {
      metadata: { annotations: { [SIMULATED_STATE]: state === 'stopped' ? 'stopped' : null } },
    };
    const { object: written } = await this.ctx.resources.patch(
      request,
      NODES,
      undefined,
      name,
      'application/merge-patch+json',
      patch,
      { dryRun: false, force: false, fieldManager: 'kubetime' },
    );
    return {
      branch,
      name,
      state,
      changed: written.metadata.resourceVersion !== node.metadata.resourceVersion,
      revision: Number(written.metadata.resourceVersion),
    };
  }
}
