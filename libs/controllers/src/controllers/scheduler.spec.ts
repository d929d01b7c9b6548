import { feasibleNodesToFind, NodeVerdict, RECORDED_NODES_LIMIT, recordedVerdicts } from './scheduler';

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
