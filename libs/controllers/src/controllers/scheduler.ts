import { deepClone, KubeObject, LabelSelector, labelSelectorMatcher, rfc3339 } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext } from '../runtime/manager';
import { TYPES } from '../runtime/types';
import { fnv32a } from '../runtime/random';
import { findCondition, milliCpu, namespacedKey, quantity, splitKey } from './objects';
import { isActive, podRequests } from './pods';

const SCHEDULER = 'default-scheduler';
/** What scoring assumes a container without requests uses, so best-effort pods still spread. */
const DEFAULT_MILLI_CPU = 100;
const DEFAULT_MEMORY = 200 * 1024 * 1024;

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

/** Where every decision is recorded, on the pod: which plugin said what about each node. */
export const DECISION_ANNOTATION = 'kubetime.io/scheduling-decision';

/** Upstream's default score plugin weights (kube-scheduler v1.32 default profile). */
const SCORE_WEIGHTS = { TaintToleration: 3, NodeAffinity: 2, InterPodAffinity: 2, NodeResourcesFit: 1 };

/** One node's verdicts: each filter plugin run ('Success' or its reason), and each score plugin's 0-100 score. */
export interface NodeVerdict {
  node: string;
  filters: Record<string, string>;
  scores?: Record<string, number>;
  total?: number;
}

/**
 * Nodes whose verdicts a decision records: the chosen node and its closest runners-up say why it won.
 * Every node recorded makes the annotation some 290 bytes longer, and the annotation is part of every
 * later version of the pod: in memory (the store's head, the controllers' cache, the recent events),
 * in every write's encoding, in every watch event. At 100 nodes it was 29 KB on every pod (some 290 MB
 * with 10,000 pods); with a thousand nodes it would pass the 256 KiB annotation limit.
 */
export const RECORDED_NODES_LIMIT = 10;

/** Pods decided per pass: their bindings are sequenced together and committed in a few transactions. */
const SCHEDULING_BATCH = 128;
/** Upstream's minFeasibleNodesToFind and minFeasibleNodesPercentageToFind, and the adaptive base. */
const MIN_FEASIBLE_NODES = 100;
const MIN_FEASIBLE_PERCENTAGE = 5;
const BASE_PERCENTAGE = 50;

/**
 * How many feasible nodes a decision looks for before it stops filtering, as upstream's default
 * (adaptive) percentageOfNodesToScore: every node below 100, then 50% less 1% per 125 nodes, at least 5%
 * and at least 100 nodes.
 */
export function feasibleNodesToFind(total: number): number {
  if (total < MIN_FEASIBLE_NODES) return total;
  const percentage = Math.max(MIN_FEASIBLE_PERCENTAGE, BASE_PERCENTAGE - Math.floor(total / 125));
  return Math.max(MIN_FEASIBLE_NODES, Math.floor((total * percentage) / 100));
}

/** What is requested on a node: as declared (Fit's filter) and with defaults for empty requests (its score). */
interface NodeUsage {
  pods: number;
  milliCpu: number;
  memory: number;
  nonZeroMilliCpu: number;
  nonZeroMemory: number;
}

/**
 * The cluster as a pass decides on it: the cache at one revision, plus the pods this scheduler has
 * bound since but the cache does not show bound yet (assumed, as upstream's scheduler cache assumes a
 * pod on its node as soon as the binding starts), with each node's requests summed once.
 */
class Snapshot {
  readonly nodes: KubeObject[];
  readonly placed: KubeObject[];
  readonly antiAffinityHolders: KubeObject[];
  private readonly usage = new Map<string, NodeUsage>();

  constructor(
    readonly revision: number,
    cache: ObjectCache,
    assumed: Iterable<KubeObject>,
  ) {
    this.nodes = [...cache.list('nodes')].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    this.placed = [];
    this.antiAffinityHolders = [];
    for (const pod of cache.list('pods')) if (pod.spec?.nodeName && isActive(pod)) this.assume(pod);
    for (const pod of assumed) this.assume(pod);
  }

  assume(pod: KubeObject): void {
    this.placed.push(pod);
    // Found once per pass, not once per node: pods with required anti-affinity are usually few or none.
    if (pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length)
      this.antiAffinityHolders.push(pod);
    const node = pod.spec.nodeName as string;
    const usage = this.on(node);
    const r = podRequests(pod);
    usage.pods += 1;
    usage.milliCpu += r.milliCpu;
    usage.memory += r.memory;
    usage.nonZeroMilliCpu += r.milliCpu || DEFAULT_MILLI_CPU;
    usage.nonZeroMemory += r.memory || DEFAULT_MEMORY;
  }

  on(node: string): NodeUsage {
    let usage = this.usage.get(node);
    if (!usage) {
      usage = { pods: 0, milliCpu: 0, memory: 0, nonZeroMilliCpu: 0, nonZeroMemory: 0 };
      this.usage.set(node, usage);
    }
    return usage;
  }
}

/**
 * The verdicts a decision keeps: all of them up to the limit, else the chosen node, then the others
 * by total score (the runners-up explain the choice best), then the refused ones in name order, and
 * how many were left out (the Unschedulable message keeps the count of every refusal reason).
 */
export function recordedVerdicts(
  verdicts: NodeVerdict[],
  chosen: string | null,
): { nodes: NodeVerdict[]; omittedNodes?: number } {
  if (verdicts.length <= RECORDED_NODES_LIMIT) return { nodes: verdicts };
  const rank = (v: NodeVerdict) => (v.node === chosen ? Infinity : (v.total ?? -1));
  const kept = verdicts
    .map((v, order) => ({ v, order }))
    .sort((a, b) => rank(b.v) - rank(a.v) || a.order - b.order)
    .slice(0, RECORDED_NODES_LIMIT)
    .map(({ v }) => v);
  return { nodes: kept, omittedNodes: verdicts.length - kept.length };
}

/**
 * The default scheduler: filter nodes (NodeUnschedulable, TaintToleration, NodeAffinity with
 * nodeSelector, NodeResourcesFit, InterPodAffinity), score the rest (LeastAllocated, preferred node
 * affinity, PreferNoSchedule taints, preferred inter-pod affinity and anti-affinity, with upstream's
 * weights), bind. Every decision is recorded on the pod in the `kubetime.io/scheduling-decision`
 * annotation: each node's filter verdicts and normalized scores, so the time-travel API can answer
 * "why did this Pod land there?" from the pod's history. A pod that fits nowhere gets
 * PodScheduled=False/Unschedulable with upstream's "0/N nodes are available" message and a
 * FailedScheduling event, and is tried again when nodes or pods change. Pods that name a node in
 * spec.nodeName never reach a scheduler, as upstream.
 */
export class SchedulerController implements Controller {
  readonly name = SCHEDULER;
  readonly user = { username: 'system:kube-scheduler', groups: ['system:authenticated', 'system:masters'] };
  readonly batchSize = SCHEDULING_BATCH;
  /** Pods whose binding this scheduler issued, by key, until the cache shows them bound or gone. */
  private readonly assumed = new Map<string, KubeObject>();
  private snapshot?: Snapshot;
  /**
   * Keys of the pods marked Unschedulable that still want scheduling, in the cache's order (a pod
   * moves to the end when it changes). Built from the cache on first use, then kept from the pod
   * changes keysFor is given, which after that first use are all of them: looking again at these
   * pods on every placement used to scan every pod of the cluster (a 10,000-entry array per binding).
   */
  private waiting?: Set<string>;

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const pod of cache.list('pods')) if (wantsScheduling(pod)) yield namespacedKey(pod);
  }

  *keysFor(change: CacheChange, cache: ObjectCache): Iterable<string> {
    if (change.resource === 'pods') {
      const key = namespacedKey(change.object);
      const waiting = this.unschedulable(cache);
      waiting.delete(key);
      if (change.type !== 'DELETED' && isUnschedulable(change.object)) waiting.add(key);
      if (change.type !== 'DELETED' && wantsScheduling(change.object)) yield key;
      // Capacity freed, or a pod placed that an affinity term was waiting for: try the others again.
      const freed = change.type === 'DELETED' && change.object.spec?.nodeName;
      const placed =
        change.type === 'MODIFIED' && change.object.spec?.nodeName && !change.old?.spec?.nodeName;
      if (freed || placed) yield* waiting;
    } else if (change.resource === 'nodes' && change.type !== 'DELETED') {
      yield* this.unschedulable(cache);
    }
  }

  private unschedulable(cache: ObjectCache): Set<string> {
    if (!this.waiting) {
      this.waiting = new Set();
      for (const pod of cache.list('pods')) if (isUnschedulable(pod)) this.waiting.add(namespacedKey(pod));
    }
    return this.waiting;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<void> {
    const { namespace, name } = splitKey(key);
    // Decided again (its binding failed, or it changed): the earlier assumption no longer holds.
    if (this.assumed.delete(key)) this.snapshot = undefined;
    const pod = ctx.cache.object('pods', namespace, name);
    if (!pod || !wantsScheduling(pod)) return;
    const snapshot = this.snapshotAt(ctx.cache);
    const { nodes } = snapshot;
    const toFind = feasibleNodesToFind(nodes.length);
    // Upstream rotates a start index kept in memory across decisions. That index is not in the log: a
    // fork's or a new leader's scheduler would start over and place the same pods elsewhere. A start
    // taken from the pod's own key spreads the searches as well and is the same on every replay.
    const start = nodes.length ? fnv32a(key) % nodes.length : 0;
    const reasons = new Map<string, number>();
    const verdicts: NodeVerdict[] = [];
    const feasible: KubeObject[] = [];
    let processed = 0;
    while (processed < nodes.length && feasible.length < toFind) {
      const node = nodes[(start + processed) % nodes.length];
      processed++;
      const filters = runFilters(pod, node, ctx.cache, snapshot);
      verdicts.push({ node: node.metadata.name!, filters });
      const failed = Object.values(filters).filter((v) => v !== 'Success');
      if (failed.length)
        for (const r of failed.flatMap((f) => f.split('; '))) reasons.set(r, (reasons.get(r) ?? 0) + 1);
      else feasible.push(node);
    }
    if (!feasible.length) return this.markUnschedulable(pod, nodes.length, reasons, verdicts, ctx);
    const scores = scoreNodes(pod, feasible, ctx.cache, snapshot);
    for (const v of verdicts) {
      const s = scores.get(v.node);
      if (s) Object.assign(v, s);
    }
    const best = Math.max(...[...scores.values()].map((s) => s.total));
    const top = feasible.filter((n) => scores.get(n.metadata.name!)!.total === best);
    // Upstream picks among equal best scores at random; here the seeded stream does.
    const chosen = top[ctx.random.int(top.length)].metadata.name!;
    const recorded = deepClone(pod);
    recorded.metadata.annotations = {
      ...(pod.metadata.annotations ?? {}),
      [DECISION_ANNOTATION]: JSON.stringify({
        node: chosen,
        weights: SCORE_WEIGHTS,
        ...recordedVerdicts(verdicts, chosen),
      }),
    };
    const assumed = { ...pod, spec: { ...pod.spec, nodeName: chosen } };
    this.assumed.set(key, assumed);
    snapshot.assume(assumed);
    ctx.defer(
      ctx.api.bind(recorded, chosen).catch((error: unknown) => {
        // A refused binding holds no capacity: other pods must not be turned away for it while this
        // one waits for its retry, as upstream forgets an assumed pod whose binding failed.
        if (this.assumed.get(key) === assumed) {
          this.assumed.delete(key);
          this.snapshot = undefined;
        }
        throw error;
      }),
    );
    ctx.afterWrites(() =>
      ctx.api.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${chosen}`, {
        component: SCHEDULER,
      }),
    );
  }

  /**
   * The snapshot of the cache's revision, built once per revision (the cache does not move during a
   * pass). Assumptions the cache has caught up with (bound, deleted, or no longer waiting) are
   * dropped first; those of bindings still in flight stay (a refused one is dropped when it fails).
   */
  private snapshotAt(cache: ObjectCache): Snapshot {
    if (this.snapshot?.revision === cache.revision) return this.snapshot;
    for (const [key, pod] of this.assumed) {
      const current = cache.object('pods', pod.metadata.namespace, pod.metadata.name!);
      if (!current || current.metadata.uid !== pod.metadata.uid || !wantsScheduling(current))
        this.assumed.delete(key);
    }
    this.snapshot = new Snapshot(cache.revision, cache, this.assumed.values());
    return this.snapshot;
  }

  private async markUnschedulable(
    pod: KubeObject,
    total: number,
    reasons: Map<string, number>,
    verdicts: NodeVerdict[],
    ctx: ReconcileContext,
  ): Promise<void> {
    const message = unschedulableMessage(total, reasons, verdicts);
    const current = findCondition(pod, 'PodScheduled');
    if (current?.status === 'False' && current.message === message) return;
    // The record goes on the object (a status write keeps metadata as it is), then the condition.
    const recorded = deepClone(pod);
    recorded.metadata.annotations = {
      ...(pod.metadata.annotations ?? {}),
      [DECISION_ANNOTATION]: JSON.stringify({ node: null, ...recordedVerdicts(verdicts, null) }),
    };
    const written = await ctx.api.update(TYPES.pods, recorded);
    const next = deepClone(written);
    next.status = { ...(written.status ?? {}) };
    next.status.conditions = [
      ...(written.status?.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled'),
      {
        type: 'PodScheduled',
        status: 'False',
        lastProbeTime: null,
        lastTransitionTime: rfc3339(ctx.now),
        reason: 'Unschedulable',
        message,
      },
    ];
    await ctx.api.updateStatus(TYPES.pods, next);
    await ctx.api.event(pod, 'Warning', 'FailedScheduling', message, { component: SCHEDULER });
  }
}

/**
 * Filter failures preemption cannot cure, as upstream's plugins classify them
 * (UnschedulableAndUnresolvable): evicting pods changes no taint, label or cordon, nor whether a
 * pod the incoming one needs beside it is there. Resource shortfalls and anti-affinity conflicts
 * could be cured by evicting pods.
 */
function preemptionCannotHelp(plugin: string, reason: string): boolean {
  if (plugin === 'InterPodAffinity') return reason === "node(s) didn't match pod affinity rules";
  return plugin !== 'NodeResourcesFit';
}

/**
 * The Unschedulable message: each refusal reason counted over the nodes, then the verdict of the
 * preemption that upstream's DefaultPreemption runs next, node by node. Pods here carry no lower
 * priority than one another, so wherever preemption might help, no victim is found.
 */
export function unschedulableMessage(
  total: number,
  reasons: Map<string, number>,
  verdicts: NodeVerdict[],
): string {
  // Upstream stops before filtering and preemption when the cluster has no node at all.
  if (!total) return 'no nodes available to schedule pods';
  const histogram = (counts: Map<string, number>) =>
    [...counts].map(([reason, count]) => `${count} ${reason}`).sort();
  const preemption = new Map<string, number>();
  for (const { filters } of verdicts) {
    const failed = Object.entries(filters).find(([, verdict]) => verdict !== 'Success');
    if (!failed) continue;
    const outcome = preemptionCannotHelp(...failed)
      ? 'Preemption is not helpful for scheduling'
      : 'No preemption victims found for incoming pod';
    preemption.set(outcome, (preemption.get(outcome) ?? 0) + 1);
  }
  const filtered = histogram(reasons);
  return (
    `0/${total} nodes are available${filtered.length ? ': ' + filtered.join(', ') : ''}.` +
    ` preemption: 0/${total} nodes are available: ${histogram(preemption).join(', ')}.`
  );
}

function wantsScheduling(pod: KubeObject): boolean {
  return (
    !pod.spec?.nodeName &&
    !pod.metadata.deletionTimestamp &&
    (pod.spec?.schedulerName ?? SCHEDULER) === SCHEDULER &&
    isActive(pod)
  );
}

function isUnschedulable(pod: KubeObject): boolean {
  return wantsScheduling(pod) && findCondition(pod, 'PodScheduled')?.status === 'False';
}

/**
 * Every filter plugin's verdict for the node, in upstream's order, stopping at the first that
 * fails as the framework does: 'Success', or the reasons in the scheduler's message form ('; '
 * between several of one plugin).
 */
function runFilters(
  pod: KubeObject,
  node: KubeObject,
  cache: ObjectCache,
  snapshot: Snapshot,
): Record<string, string> {
  const plugins: [string, () => string[]][] = [
    ['NodeUnschedulable', () => nodeUnschedulable(pod, node)],
    ['TaintToleration', () => untoleratedTaint(pod, node)],
    [
      'NodeAffinity',
      () => (matchesNodeSelector(pod, node) ? [] : ["node(s) didn't match Pod's node affinity/selector"]),
    ],
    ['NodeResourcesFit', () => resourcesFit(pod, node, snapshot.on(node.metadata.name!))],
    [
      'InterPodAffinity',
      () => interPodAffinity(pod, node, cache, snapshot.placed, snapshot.antiAffinityHolders),
    ],
  ];
  const verdicts: Record<string, string> = {};
  for (const [plugin, run] of plugins) {
    const failed = run();
    verdicts[plugin] = failed.length ? failed.join('; ') : 'Success';
    if (failed.length) break;
  }
  return verdicts;
}

function nodeUnschedulable(pod: KubeObject, node: KubeObject): string[] {
  const tolerations: Toleration[] = pod.spec?.tolerations ?? [];
  const tolerated = tolerations.some((t) =>
    tolerates(t, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }),
  );
  return node.spec?.unschedulable && !tolerated ? ['node(s) were unschedulable'] : [];
}

function untoleratedTaint(pod: KubeObject, node: KubeObject): string[] {
  const tolerations: Toleration[] = pod.spec?.tolerations ?? [];
  const untolerated = (node.spec?.taints ?? []).find(
    (taint: Taint) =>
      (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') &&
      !tolerations.some((t) => tolerates(t, taint)),
  );
  return untolerated
    ? [`node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ''}}`]
    : [];
}

function resourcesFit(pod: KubeObject, node: KubeObject, used: NodeUsage): string[] {
  const allocatable = node.status?.allocatable ?? {};
  const wanted = podRequests(pod);
  const reasons: string[] = [];
  if (used.pods + 1 > quantity(allocatable.pods ?? '110')) reasons.push('Too many pods');
  if (wanted.milliCpu && used.milliCpu + wanted.milliCpu > milliCpu(allocatable.cpu))
    reasons.push('Insufficient cpu');
  if (wanted.memory && used.memory + wanted.memory > quantity(allocatable.memory))
    reasons.push('Insufficient memory');
  return reasons;
}

interface PodAffinityTerm {
  labelSelector?: LabelSelector;
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  topologyKey: string;
}

interface WeightedPodAffinityTerm {
  weight: number;
  podAffinityTerm: PodAffinityTerm;
}

/** Whether `candidate` is a pod the term (written in `owner`'s spec) selects. */
function termSelects(term: PodAffinityTerm, owner: KubeObject, candidate: KubeObject): boolean {
  // namespaceSelector {} selects every namespace; other namespace selectors need Namespace labels,
  // which this scheduler does not read, so they fall back to the listed namespaces.
  const everywhere = term.namespaceSelector && !Object.keys(term.namespaceSelector).length;
  const namespaces = term.namespaces?.length ? term.namespaces : [owner.metadata.namespace];
  if (!everywhere && !namespaces.includes(candidate.metadata.namespace)) return false;
  return labelSelectorMatcher(term.labelSelector)(candidate.metadata.labels);
}

/** Whether two nodes are in the same topology domain (both carry topologyKey, with one value). */
function sameDomain(cache: ObjectCache, node: KubeObject, other: string, key: string): boolean {
  const value = node.metadata.labels?.[key];
  return value !== undefined && cache.object('nodes', undefined, other)?.metadata.labels?.[key] === value;
}

/** InterPodAffinity's filter, in upstream's order: the pod's required affinity, its anti-affinity, existing pods' anti-affinity. */
function interPodAffinity(
  pod: KubeObject,
  node: KubeObject,
  cache: ObjectCache,
  placed: KubeObject[],
  antiAffinityHolders: KubeObject[],
): string[] {
  const affinity: PodAffinityTerm[] =
    pod.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  for (const term of affinity) {
    const selected = placed.filter((p) => termSelects(term, pod, p));
    // The first pod of a group that selects itself may go anywhere, or it could never start.
    if (
      !selected.length &&
      termSelects(term, pod, pod) &&
      node.metadata.labels?.[term.topologyKey] !== undefined
    )
      continue;
    if (!selected.some((p) => sameDomain(cache, node, p.spec.nodeName, term.topologyKey)))
      return ["node(s) didn't match pod affinity rules"];
  }
  const anti: PodAffinityTerm[] =
    pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  for (const term of anti) {
    if (
      placed.some(
        (p) => termSelects(term, pod, p) && sameDomain(cache, node, p.spec.nodeName, term.topologyKey),
      )
    )
      return ["node(s) didn't match pod anti-affinity rules"];
  }
  for (const existing of antiAffinityHolders) {
    const terms: PodAffinityTerm[] =
      existing.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    if (
      terms.some(
        (t) =>
          termSelects(t, existing, pod) && sameDomain(cache, node, existing.spec.nodeName, t.topologyKey),
      )
    )
      return ["node(s) didn't satisfy existing pods anti-affinity rules"];
  }
  return [];
}

/**
 * The score plugins over the feasible nodes, each normalized to 0-100 as upstream's NormalizeScore
 * does, and the weighted total.
 */
function scoreNodes(
  pod: KubeObject,
  nodes: KubeObject[],
  cache: ObjectCache,
  snapshot: Snapshot,
): Map<string, { scores: Record<string, number>; total: number }> {
  const raw = nodes.map((node) => ({
    node,
    fit: leastAllocated(pod, node, snapshot.on(node.metadata.name!)),
    affinity: preferredNodeAffinity(pod, node),
    taints: preferNoScheduleCount(pod, node),
    pods: preferredPodAffinity(pod, node, cache, snapshot.placed),
  }));
  const maxAffinity = Math.max(0, ...raw.map((r) => r.affinity));
  const maxTaints = Math.max(0, ...raw.map((r) => r.taints));
  const minPods = Math.min(...raw.map((r) => r.pods));
  const maxPods = Math.max(...raw.map((r) => r.pods));
  const result = new Map<string, { scores: Record<string, number>; total: number }>();
  for (const r of raw) {
    const scores = {
      NodeResourcesFit: r.fit,
      NodeAffinity: maxAffinity ? Math.floor((r.affinity * 100) / maxAffinity) : 0,
      TaintToleration: maxTaints ? 100 - Math.floor((r.taints * 100) / maxTaints) : 100,
      InterPodAffinity: maxPods > minPods ? Math.floor(((r.pods - minPods) * 100) / (maxPods - minPods)) : 0,
    };
    const total = (Object.keys(scores) as (keyof typeof scores)[]).reduce(
      (sum, plugin) => sum + scores[plugin] * SCORE_WEIGHTS[plugin],
      0,
    );
    result.set(r.node.metadata.name!, { scores, total });
  }
  return result;
}

/** The summed weights of the preferredDuringScheduling node affinity terms the node matches. */
function preferredNodeAffinity(pod: KubeObject, node: KubeObject): number {
  const labels: Record<string, string> = node.metadata.labels ?? {};
  const terms: {
    weight: number;
    preference: { matchExpressions?: Requirement[]; matchFields?: Requirement[] };
  }[] = pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  let sum = 0;
  for (const t of terms) {
    const expressions = t.preference?.matchExpressions ?? [];
    const fields = t.preference?.matchFields ?? [];
    if (!expressions.length && !fields.length) continue;
    if (
      expressions.every((r) => requirementHolds(r, labels)) &&
      fields.every((r) => requirementHolds(r, { 'metadata.name': node.metadata.name! }))
    )
      sum += t.weight;
  }
  return sum;
}

/** PreferNoSchedule taints the pod does not tolerate: fewer is better. */
function preferNoScheduleCount(pod: KubeObject, node: KubeObject): number {
  const tolerations: Toleration[] = (pod.spec?.tolerations ?? []).filter(
    (t: Toleration) => !t.effect || t.effect === 'PreferNoSchedule',
  );
  return (node.spec?.taints ?? []).filter(
    (taint: Taint) => taint.effect === 'PreferNoSchedule' && !tolerations.some((t) => tolerates(t, taint)),
  ).length;
}

/** Preferred affinity weights for each selected pod in the node's domain, minus anti-affinity ones. */
function preferredPodAffinity(
  pod: KubeObject,
  node: KubeObject,
  cache: ObjectCache,
  placed: KubeObject[],
): number {
  const sum = (terms: WeightedPodAffinityTerm[]) =>
    terms.reduce(
      (total, { weight, podAffinityTerm: term }) =>
        total +
        weight *
          placed.filter(
            (p) => termSelects(term, pod, p) && sameDomain(cache, node, p.spec.nodeName, term.topologyKey),
          ).length,
      0,
    );
  const affinity = pod.spec?.affinity;
  return (
    sum(affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) -
    sum(affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [])
  );
}

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/** nodeSelector and requiredDuringSchedulingIgnoredDuringExecution: both must hold. */
function matchesNodeSelector(pod: KubeObject, node: KubeObject): boolean {
  const labels: Record<string, string> = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries<string>(pod.spec?.nodeSelector ?? {}))
    if (labels[k] !== v) return false;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms?.length) return true;
  // Terms are ORed; the expressions within one term are ANDed.
  return terms.some((term: { matchExpressions?: Requirement[]; matchFields?: Requirement[] }) => {
    const expressions = term.matchExpressions ?? [];
    const fields = term.matchFields ?? [];
    if (!expressions.length && !fields.length) return false;
    return (
      expressions.every((r) => requirementHolds(r, labels)) &&
      fields.every((r) => requirementHolds(r, { 'metadata.name': node.metadata.name! }))
    );
  });
}

interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

function requirementHolds(r: Requirement, labels: Record<string, string>): boolean {
  const has = r.key in labels;
  const value = labels[r.key];
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(value);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
      return has && Number(value) > Number(r.values?.[0]);
    case 'Lt':
      return has && Number(value) < Number(r.values?.[0]);
    default:
      return false;
  }
}

/** NodeResourcesFit's LeastAllocated: the mean free fraction of cpu and memory after placing the pod, 0-100. */
function leastAllocated(pod: KubeObject, node: KubeObject, used: NodeUsage): number {
  const allocatable = node.status?.allocatable ?? {};
  const cpu = milliCpu(allocatable.cpu);
  const memory = quantity(allocatable.memory);
  const r = podRequests(pod);
  const usedCpu = used.nonZeroMilliCpu + (r.milliCpu || DEFAULT_MILLI_CPU);
  const usedMemory = used.nonZeroMemory + (r.memory || DEFAULT_MEMORY);
  const free = (used: number, total: number) =>
    total <= 0 || used > total ? 0 : ((total - used) * 100) / total;
  return Math.floor((free(usedCpu, cpu) + free(usedMemory, memory)) / 2);
}
