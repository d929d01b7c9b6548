import type { KubeObject } from '@kubetime/api-machinery';

/**
 * What a simulated container does, decided by declarative rules so an incident can be staged by
 * manifest alone (in the spirit of KWOK's Stages). docs/controllers.md lists the rules; the kubelet
 * only executes the behaviour they produce.
 */
export interface ContainerBehaviour {
  /** How long the image pull takes. */
  pullMs: number;
  /** The pull fails (ErrImagePull, then ImagePullBackOff), and the message the runtime gives. */
  pullError?: string;
  /** The container exits this long after it starts; undefined runs until stopped. */
  runMs?: number;
  exitCode: number;
  readiness: 'pass' | 'fail';
  /** The liveness probe starts failing this long after the container starts; undefined never. */
  livenessFailsAfterMs?: number;
  /** The process exits on SIGTERM (most do); otherwise it is killed when the grace period ends. */
  exitsOnSigterm: boolean;
}

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

export interface ContainerSpec {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  readinessProbe?: Record<string, unknown> & { initialDelaySeconds?: number };
  livenessProbe?: Record<string, unknown> & { initialDelaySeconds?: number };
}

const ANNOTATION = 'kubetime.io/';
/** Registries a simulated node can reach; any other registry host fails the pull. */
const KNOWN_REGISTRIES = [
  'docker.io',
  'registry-1.docker.io',
  'index.docker.io',
  'registry.k8s.io',
  'k8s.gcr.io',
  'gcr.io',
  'ghcr.io',
  'quay.io',
  'mcr.microsoft.com',
  'public.ecr.aws',
];
/** Images whose default process is a shell or a one-shot tool: given a command, they run it and exit. */
const SHELL_IMAGES = [
  'busybox',
  'alpine',
  'ubuntu',
  'debian',
  'centos',
  'fedora',
  'bash',
  'perl',
  'python',
  'curl',
];
/** What a shell script that finishes takes when it does not say (no `sleep N`). */
const SCRIPT_RUN_MS = 1000;

/** `5s`, `1m30s`, `250ms`, `2h` or a bare number of seconds; undefined when unparseable. */
export function parseDuration(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = trimmed;
  for (let i = 0; rest && i < 8; i++) {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * units[match[2]];
    rest = rest.slice(match[0].length);
  }
  return rest ? undefined : total;
}

/** The annotation for one container (`kubetime.io/<rule>.<container>`) wins over the pod-wide one. */
function rule(pod: KubeObject, name: string, container: string): string | undefined {
  const annotations: Record<string, string> = pod.metadata.annotations ?? {};
  return annotations[`${ANNOTATION}${name}.${container}`] ?? annotations[`${ANNOTATION}${name}`];
}

function imageParts(image: string): { registry: string; repository: string; tag: string } {
  const [withoutDigest] = image.split('@');
  const slash = withoutDigest.indexOf('/');
  const first = slash < 0 ? '' : withoutDigest.slice(0, slash);
  const hasRegistry = /[.:]/.test(first) || first === 'localhost';
  const path = hasRegistry ? withoutDigest.slice(slash + 1) : withoutDigest;
  const colon = path.lastIndexOf(':');
  return {
    registry: hasRegistry ? first : 'docker.io',
    repository: colon < 0 ? path : path.slice(0, colon),
    tag: colon < 0 ? 'latest' : path.slice(colon + 1),
  };
}

/** The reference as containerd reports it (`docker.io/library/nginx:latest`). */
export function fullImageName(image: string): string {
  const { registry, repository, tag } = imageParts(image);
  const repo = registry === 'docker.io' && !repository.includes('/') ? `library/${repository}` : repository;
  return `${registry}/${repo}:${tag}`;
}

function pullError(pod: KubeObject, c: ContainerSpec): string | undefined {
  const forced = rule(pod, 'image-pull', c.name);
  const { registry, tag } = imageParts(c.image);
  const reference = fullImageName(c.image);
  if (forced === 'fail' || tag === 'bad' || tag === 'doesnotexist')
    return `failed to pull and unpack image "${reference}": failed to resolve reference "${reference}": ${reference}: not found`;
  if (forced !== 'pass' && !KNOWN_REGISTRIES.includes(registry))
    return `failed to pull and unpack image "${reference}": failed to resolve reference "${reference}": failed to do request: Head "https://${registry}/v2/": dial tcp: lookup ${registry}: no such host`;
  return undefined;
}

/** How long a shell command runs and how it exits, read off the script the way a reader would. */
function scriptBehaviour(c: ContainerSpec): { runMs?: number; exitCode: number } | undefined {
  const { repository } = imageParts(c.image);
  const base = repository.split('/').pop()!;
  if (!SHELL_IMAGES.includes(base)) return undefined;
  const script = [...(c.command ?? []), ...(c.args ?? [])].join(' ');
  if (!script) return { runMs: 0, exitCode: 0 };
  if (/while\s+(true|:)|sleep\s+(infinity|inf)\b|tail\s+-f|until\s/.test(script)) return { exitCode: 0 };
  const exit = /\bexit\s+(\d+)/.exec(script);
  const sleeps = [...script.matchAll(/\bsleep\s+(\d+(?:\.\d+)?[smh]?)/g)].map(
    (m) => parseDuration(m[1]) ?? 0,
  );
  const runMs = sleeps.length ? sleeps.reduce((a, b) => a + b, 0) : SCRIPT_RUN_MS;
  return { runMs, exitCode: exit ? Number(exit[1]) : 0 };
}

/** The rules applied to one container of a pod, defaults last. */
export function behaviourOf(pod: KubeObject, c: ContainerSpec, defaultPullMs: number): ContainerBehaviour {
  const script = scriptBehaviour(c);
  const crashAfter = parseDuration(rule(pod, 'crash-after', c.name));
  const runFor = parseDuration(rule(pod, 'run-time', c.name));
  const exitCode = rule(pod, 'exit-code', c.name);
  const liveness = rule(pod, 'liveness', c.name);
  let runMs = script?.runMs;
  let code = script?.exitCode ?? 0;
  if (runFor !== undefined) runMs = runFor;
  if (crashAfter !== undefined) {
    runMs = crashAfter;
    code = 1;
  }
  if (exitCode !== undefined) code = Number(exitCode) || 0;
  return {
    pullMs: parseDuration(rule(pod, 'pull-time', c.name)) ?? defaultPullMs,
    pullError: pullError(pod, c),
    runMs,
    exitCode: code,
    readiness: rule(pod, 'readiness', c.name) === 'fail' ? 'fail' : 'pass',
    livenessFailsAfterMs: liveness === 'fail' ? 0 : parseDuration(rule(pod, 'liveness-fail-after', c.name)),
    exitsOnSigterm: rule(pod, 'sigterm', c.name) !== 'ignore',
  };
}

/** A probe's timing with upstream's defaults for the fields left out. */
export function probeTiming(probe: Record<string, unknown> | undefined): ProbeTiming | undefined {
  if (!probe) return undefined;
  const n = (field: string, fallback: number) => {
    const v = probe[field];
    return typeof v === 'number' && v > 0 ? v : fallback;
  };
  return {
    initialDelayMs: (typeof probe.initialDelaySeconds === 'number' ? probe.initialDelaySeconds : 0) * 1000,
    periodMs: n('periodSeconds', 10) * 1000,
    timeoutSeconds: n('timeoutSeconds', 1),
    successThreshold: n('successThreshold', 1),
    failureThreshold: n('failureThreshold', 3),
  };
}

/** What a failing probe reports, in the form the kubelet's prober prints for each handler. */
export function probeFailure(probe: Record<string, unknown>, podIP: string | undefined): string {
  if (probe.httpGet) return 'HTTP probe failed with statuscode: 500';
  const tcp = probe.tcpSocket as { port?: number | string } | undefined;
  if (tcp) return `dial tcp ${podIP ?? ''}:${tcp.port}: connect: connection refused`;
  const exec = probe.exec as { command?: string[] } | undefined;
  if (exec) return `command ${JSON.stringify(exec.command?.join(' ') ?? '')} exited with 1`;
  return 'probe failed';
}
