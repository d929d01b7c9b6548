import type { KubeObject } from '@kubetime/api-machinery';
import { behaviourOf, fullImageName, parseDuration, probeTiming } from './behaviour';

const pod = (annotations: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', annotations },
});

describe('kubelet behaviour rules', () => {
  it('parses Go-like durations and bare seconds', () => {
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2')).toBe(2000);
    expect(parseDuration('soon')).toBeUndefined();
  });

  it('runs a plain nginx forever with passing probes', () => {
    expect(behaviourOf(pod(), { name: 'c', image: 'nginx' }, 1000)).toEqual({
      pullMs: 1000,
      pullError: undefined,
      runMs: undefined,
      exitCode: 0,
      readiness: 'pass',
      livenessFailsAfterMs: undefined,
      exitsOnSigterm: true,
    });
  });

  it('fails pulls of bad tags and unknown registries, not of known ones', () => {
    expect(behaviourOf(pod(), { name: 'c', image: 'nginx:bad' }, 0).pullError).toContain('not found');
    expect(behaviourOf(pod(), { name: 'c', image: 'my.registry.local/app:1' }, 0).pullError).toContain(
      'lookup my.registry.local: no such host',
    );
    expect(
      behaviourOf(pod(), { name: 'c', image: 'registry.k8s.io/pause:3.9' }, 0).pullError,
    ).toBeUndefined();
    expect(fullImageName('nginx')).toBe('docker.io/library/nginx:latest');
  });

  it('reads shell scripts: sleeps, exit codes, loops', () => {
    const sh = (script: string) =>
      behaviourOf(pod(), { name: 'c', image: 'busybox', command: ['sh', '-c', script] }, 0);
    expect(sh('echo hi; sleep 3; exit 2')).toMatchObject({ runMs: 3000, exitCode: 2 });
    expect(sh('while true; do sleep 1; done').runMs).toBeUndefined();
    expect(sh('date')).toMatchObject({ runMs: 1000, exitCode: 0 });
  });

  it('lets a container-specific annotation win over the pod-wide one', () => {
    const p = pod({ 'kubetime.io/crash-after': '5s', 'kubetime.io/crash-after.side': '1m' });
    expect(behaviourOf(p, { name: 'main', image: 'nginx' }, 0)).toMatchObject({ runMs: 5000, exitCode: 1 });
    expect(behaviourOf(p, { name: 'side', image: 'nginx' }, 0)).toMatchObject({ runMs: 60_000, exitCode: 1 });
  });

  it('fills probe timing with upstream defaults', () => {
    expect(probeTiming({ httpGet: { port: 80 } })).toEqual({
      initialDelayMs: 0,
      periodMs: 10_000,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });
});
