import {
  feasibleNodesToFind,
  NodeVerdict,
  RECORDED_NODES_LIMIT,
  recordedVerdicts,
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
    expect(record.omittedNodes).toBe(50);
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
