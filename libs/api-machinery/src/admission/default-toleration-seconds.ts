import type { KubeObject } from '../object';

/** The taints the node lifecycle controller puts on a node that went NotReady or unreachable. */
export const NODE_NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
export const NODE_UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';
/** kube-apiserver's --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds. */
export const DEFAULT_TOLERATION_SECONDS = 300;

interface Toleration {
  key?: string;
  operator?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/**
 * The DefaultTolerationSeconds admission plugin: a Pod that does not already tolerate the
 * `not-ready` (or `unreachable`) NoExecute taint gets a toleration for it bounded to 300 s, so its
 * pods leave a lost node after five minutes instead of at once or never. As upstream, it runs on
 * creates and updates of pods proper (not their subresources), and a toleration counts when its key
 * is that taint's or empty (every key) and its effect is NoExecute or empty (every effect), whatever
 * its operator and seconds. Returns a copy; the input is not changed.
 */
export function admitDefaultTolerationSeconds(pod: KubeObject): KubeObject {
  const tolerations: Toleration[] = pod.spec?.tolerations ?? [];
  const tolerated = (key: string) =>
    tolerations.some((t) => (!t.key || t.key === key) && (!t.effect || t.effect === 'NoExecute'));
  const missing = [NODE_NOT_READY_TAINT, NODE_UNREACHABLE_TAINT].filter((key) => !tolerated(key));
  if (!missing.length) return pod;
  return {
    ...pod,
    spec: {
      ...pod.spec,
      tolerations: [
        ...tolerations,
        ...missing.map((key) => ({
          key,
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: DEFAULT_TOLERATION_SECONDS,
        })),
      ],
    },
  };
}
