import { StatusError, type KubeObject } from '@kubetime/api-machinery';
import type { StoredEvent } from '@kubetime/event-store';
import type { ControllerApi } from '../runtime/api';
import { ObjectCache } from '../runtime/cache';
import { VirtualClock } from '../runtime/clock';
import type { ReconcileContext } from '../runtime/manager';
import { seededRandom } from '../runtime/random';
import {
  feasibleNodesToFind,
  NodeVerdict,
  RECORDED_NODES_LIMIT,
  recordedVerdicts,
  SchedulerController,
  unschedulableMessage,
} from './scheduler';

const ANNOTATION_LIMIT_BYTES = 256 * 1024;

/** A verdict as the scheduler writes it for a node every filter passed, with all four scores. */
function feasible(index: number, total: number): NodeVerdict {
  return {
    node: `node-${index}`,
    filters: {
      NodeUnschedulable: 'Success',
      TaintToleration: 'Success',
      NodeAffinity: 'Success',
      NodeResourcesFit: 'Success',
      InterPodAffinity: 'Success',
    },
    scores: { TaintToleration: 100, NodeAffinity: 0, InterPodAffinity: 0, NodeResourcesFit: total },
    total,
  };
}

function refused(index: number): NodeVerdict {
  return {
    node: `node-${index}`,
    filters: {
      NodeUnschedulable: 'Success',
      TaintToleration: 'node(s) had untolerated taint {node.kubernetes.io/unreachable: }',
    },
  };
}

describe('recordedVerdicts', () => {
  it('keeps every verdict of a small cluster in the order they were made', () => {
    const verdicts = [feasible(1, 10), refused(2), feasible(3, 90)];
    expect(recordedVerdicts(verdicts, 'node-3')).toEqual({ nodes: verdicts });
  });

  it('keeps a thousand-node decision under the annotation limit: chosen node, runners-up, then refusals', () => {
    const verdicts = Array.from({ length: 1000 }, (_, i) =>
      i % 4 === 0 ? refused(i + 1) : feasible(i + 1, i % 97),
    );
    const record = recordedVerdicts(verdicts, 'node-2');
    expect(record.nodes).toHaveLength(RECORDED_NODES_LIMIT);
    expect(record.omittedNodes).toBe(1000 - RECORDED_NODES_LIMIT);
    expect(record.nodes[0].node).toBe('node-2');
    const totals = record.nodes.slice(1).map((v) => v.total ?? -1);
    expect(totals).toEqual([...totals].sort((a, b) => b - a));
    const json = JSON.stringify({ node: 'node-2', weights: {}, ...record });
    expect(Buffer.byteLength(json)).toBeLessThan(ANNOTATION_LIMIT_BYTES / 4);
    // Without the bound a thousand feasible nodes would not fit in an annotation at all.
    const allFeasible = Array.from({ length: 1000 }, (_, i) => feasible(i + 1, 50));
    expect(Buffer.byteLength(JSON.stringify({ nodes: allFeasible }))).toBeGreaterThan(ANNOTATION_LIMIT_BYTES);
    expect(Buffer.byteLength(JSON.stringify(recordedVerdicts(allFeasible, 'node-1000')))).toBeLessThan(
      ANNOTATION_LIMIT_BYTES / 4,
    );
  });

  it('records refused nodes in name order when none fits', () => {
    const verdicts = Array.from({ length: 150 }, (_, i) => refused(i + 1));
    const record = recordedVerdicts(verdicts, null);
    expect(record.nodes.map((v) => v.node)).toEqual(
      verdicts.slice(0, RECORDED_NODES_LIMIT).map((v) => v.node),
    );
    expect(record.omittedNodes).toBe(150 - RECORDED_NODES_LIMIT);
  });
});

describe('feasibleNodesToFind', () => {
  it("follows upstream's adaptive percentage of nodes to score", () => {
    expect(feasibleNodesToFind(5)).toBe(5);
    expect(feasibleNodesToFind(99)).toBe(99);
    expect(feasibleNodesToFind(100)).toBe(100);
    // 50% less 1% per 125 nodes: 42% of 1,000, 10% of 5,000, never under 5% or 100 nodes.
    expect(feasibleNodesToFind(1_000)).toBe(420);
    expect(feasibleNodesToFind(5_000)).toBe(500);
    expect(feasibleNodesToFind(10_000)).toBe(500);
    expect(feasibleNodesToFind(150)).toBe(100);
  });
});

describe('SchedulerController', () => {
  const at = new Date('2025-03-01T12:00:00Z');
  const node: KubeObject = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'only', uid: 'node-uid' },
    status: { allocatable: { cpu: '4', memory: '8Gi', pods: '1' } },
  };
  const pod = (name: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'default', name, uid: `${name}-uid`, resourceVersion: '7' },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
    status: { phase: 'Pending' },
  });

  /** A cache at one revision and the writes a reconcile made; bindings succeed unless `refuse` says no. */
  function harness(refuse: (name: string) => boolean) {
    const cache = new ObjectCache();
    cache.load(
      7,
      [node, pod('first'), pod('second')].map((object) => ({
        key: object.metadata.name!,
        object,
        revision: 7,
        branchId: 1,
        createRevision: 7,
        keyVersion: 1,
      })),
      (key) => ({ group: '', version: 'v1', resource: key === 'only' ? 'nodes' : 'pods' }),
    );
    const bound: string[] = [];
    const refusedWrites: string[] = [];
    const deferred: Promise<unknown>[] = [];
    const api = {
      bind: async (p: KubeObject, to: string) => {
        if (refuse(p.metadata.name!)) {
          refusedWrites.push(p.metadata.name!);
          throw new StatusError(409, 'Conflict', 'the object has been modified');
        }
        bound.push(`${p.metadata.name}->${to}`);
        return p;
      },
      update: async (_type: unknown, p: KubeObject) => {
        refusedWrites.push(`unschedulable ${p.metadata.name}`);
        return p;
      },
      updateStatus: async (_type: unknown, p: KubeObject) => p,
      event: async () => undefined,
    } as unknown as ControllerApi;
    const context = (key: string): ReconcileContext => ({
      cache,
      clock: new VirtualClock(at),
      now: at,
      cause: 7,
      random: seededRandom('test', key),
      api,
      defer: (write) => {
        write.catch(() => undefined);
        deferred.push(write);
      },
      afterWrites: () => undefined,
    });
    return { bound, refusedWrites, deferred, context };
  }

  it("frees a refused binding's capacity at once, before the cache moves", async () => {
    const scheduler = new SchedulerController();
    const h = harness((name) => name === 'first');
    await scheduler.reconcile('default/first', h.context('default/first'));
    await expect(Promise.all(h.deferred)).rejects.toMatchObject({ code: 409 });
    // The refusal wrote nothing, so the cache is still at the same revision: the one pod slot of the
    // node is free again, and the next pod gets it instead of being turned away for the first.
    await scheduler.reconcile('default/second', h.context('default/second'));
    await Promise.all(h.deferred.slice(1));
    expect(h.bound).toEqual(['second->only']);
    expect(h.refusedWrites).toEqual(['first']);
  });

  it('holds the capacity of a binding in flight', async () => {
    const scheduler = new SchedulerController();
    const h = harness(() => false);
    await scheduler.reconcile('default/first', h.context('default/first'));
    await scheduler.reconcile('default/second', h.context('default/second'));
    await Promise.all(h.deferred);
    expect(h.bound).toEqual(['first->only']);
    expect(h.refusedWrites).toEqual(['unschedulable second']);
  });
});

describe('SchedulerController.keysFor', () => {
  let revision = 0;
  const pending = (name: string, unschedulable: boolean, nodeName?: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'default', name, uid: `${name}-uid` },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...(nodeName ? { nodeName } : {}) },
    status: {
      phase: 'Pending',
      ...(unschedulable ? { conditions: [{ type: 'PodScheduled', status: 'False' }] } : {}),
    },
  });
  const event = (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject): StoredEvent => ({
    branchId: 1,
    revision: ++revision,
    key: `/registry/pods/default/${object.metadata.name}`,
    group: '',
    version: 'v1',
    resource: 'pods',
    kind: 'Pod',
    namespace: 'default',
    name: object.metadata.name!,
    uid: object.metadata.uid!,
    type,
    object,
    prevRevision: 0,
    createRevision: 0,
    keyVersion: 1,
    actor: 'test',
    cause: null,
    request: null,
    recordedAt: new Date(0),
  });

  it('looks again at the Unschedulable pods when one is placed, in the order they last changed', () => {
    const scheduler = new SchedulerController();
    const cache = new ObjectCache();
    const keys = (type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: KubeObject) => [
      ...scheduler.keysFor(cache.apply(event(type, pod)), cache),
    ];
    expect(keys('ADDED', pending('a', true))).toEqual(['default/a']);
    expect(keys('ADDED', pending('b', false))).toEqual(['default/b']);
    expect(keys('ADDED', pending('c', true))).toEqual(['default/c']);
    expect(keys('MODIFIED', pending('a', true))).toEqual(['default/a']);
    // b is bound: c and a (changed last) are tried again, b itself is no longer pending.
    expect(keys('MODIFIED', pending('b', false, 'node-1'))).toEqual(['default/c', 'default/a']);
    expect(keys('MODIFIED', pending('c', false, 'node-1'))).toEqual(['default/a']);
    // A bound pod deleted frees capacity; a deleted Unschedulable pod is not looked at again.
    expect(keys('DELETED', pending('a', true))).toEqual([]);
    expect(keys('DELETED', pending('b', false, 'node-1'))).toEqual([]);
  });

  it('finds the Unschedulable pods already in the cache when it first looks', () => {
    const scheduler = new SchedulerController();
    const cache = new ObjectCache();
    cache.apply(event('ADDED', pending('x', true)));
    cache.apply(event('ADDED', pending('y', false)));
    const placed = cache.apply(event('MODIFIED', pending('y', false, 'node-1')));
    expect([...scheduler.keysFor(placed, cache)]).toEqual(['default/x']);
  });
});

describe('unschedulableMessage', () => {
  const refusedBy = (node: string, plugin: string, reason: string): NodeVerdict => ({
    node,
    filters: { NodeUnschedulable: 'Success', [plugin]: reason },
  });
  const counted = (verdicts: NodeVerdict[]) => {
    const reasons = new Map<string, number>();
    for (const v of verdicts) {
      const reason = Object.values(v.filters).find((f) => f !== 'Success')!;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    return reasons;
  };

  it('tells nodes preemption cannot help from nodes where it found no victims', () => {
    const verdicts = [
      refusedBy('a', 'TaintToleration', 'node(s) had untolerated taint {dedicated: gpu}'),
      refusedBy('b', 'NodeResourcesFit', 'Insufficient cpu'),
      refusedBy('c', 'NodeResourcesFit', 'Insufficient cpu'),
    ];
    expect(unschedulableMessage(3, counted(verdicts), verdicts)).toBe(
      '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu.' +
        ' preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling,' +
        ' 2 No preemption victims found for incoming pod.',
    );
  });

  it('classifies each plugin as upstream does', () => {
    const cases: [string, string, string][] = [
      ['NodeUnschedulable', 'node(s) were unschedulable', 'Preemption is not helpful for scheduling'],
      [
        'NodeAffinity',
        "node(s) didn't match Pod's node affinity/selector",
        'Preemption is not helpful for scheduling',
      ],
      [
        'InterPodAffinity',
        "node(s) didn't match pod affinity rules",
        'Preemption is not helpful for scheduling',
      ],
      [
        'InterPodAffinity',
        "node(s) didn't match pod anti-affinity rules",
        'No preemption victims found for incoming pod',
      ],
      [
        'InterPodAffinity',
        "node(s) didn't satisfy existing pods anti-affinity rules",
        'No preemption victims found for incoming pod',
      ],
      ['NodeResourcesFit', 'Too many pods', 'No preemption victims found for incoming pod'],
      ['NodeResourcesFit', 'Insufficient memory', 'No preemption victims found for incoming pod'],
    ];
    for (const [plugin, reason, outcome] of cases) {
      const verdicts = [refusedBy('a', plugin, reason)];
      expect(unschedulableMessage(1, counted(verdicts), verdicts)).toBe(
        `0/1 nodes are available: 1 ${reason}. preemption: 0/1 nodes are available: 1 ${outcome}.`,
      );
    }
  });

  it('says there is no node at all when there is none', () => {
    expect(unschedulableMessage(0, new Map(), [])).toBe('no nodes available to schedule pods');
  });
});
