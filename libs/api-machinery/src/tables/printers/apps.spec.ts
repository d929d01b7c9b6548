import { KubeObject } from '../../object';
import { ago, render, rowByColumn, rowsByColumn } from '../spec-fixtures';

const template = {
  metadata: { labels: { app: 'my-nginx' } },
  spec: { containers: [{ name: 'nginx', image: 'nginx:latest', ports: [{ containerPort: 80 }] }] },
};

describe('apps tables', () => {
  it('prints seed 004 my-nginx-deployment as 3/3 with its wide cells', () => {
    const deployment: KubeObject = {
      metadata: { name: 'my-nginx-deployment', namespace: 'default', creationTimestamp: ago(21) },
      spec: { replicas: 3, selector: { matchLabels: { app: 'my-nginx' } }, template },
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 },
    };
    expect(rowByColumn('apps/v1', 'deployments', deployment)).toEqual({
      Name: 'my-nginx-deployment',
      Ready: '3/3',
      'Up-to-date': 3,
      Available: 3,
      Age: '21s',
      Containers: 'nginx',
      Images: 'nginx:latest',
      Selector: 'app=my-nginx',
    });
  });

  it('declares the deployment columns', () => {
    expect(
      render('apps/v1', 'deployments', []).columnDefinitions.map((c) => `${c.name}:${c.type}:${c.priority}`),
    ).toEqual([
      'Name:string:0',
      'Ready:string:0',
      'Up-to-date:string:0',
      'Available:string:0',
      'Age:string:0',
      'Containers:string:1',
      'Images:string:1',
      'Selector:string:1',
    ]);
  });

  it('prints a fresh deployment with no status and the defaulted replica count', () => {
    const deployment: KubeObject = {
      metadata: { name: 'fresh', creationTimestamp: ago(1) },
      spec: { selector: { matchLabels: { app: 'x' } }, template },
    };
    expect(rowByColumn('apps/v1', 'deployments', deployment)).toMatchObject({
      Ready: '0/1',
      'Up-to-date': 0,
      Available: 0,
    });
  });

  it('prints the two ReplicaSets of seed 004 during the broken rollout', () => {
    const replicaSet = (hash: string, image: string, ready: number, age: number): KubeObject => ({
      metadata: { name: `my-nginx-deployment-${hash}`, creationTimestamp: ago(age) },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'my-nginx', 'pod-template-hash': hash } },
        template: { ...template, spec: { containers: [{ name: 'nginx', image }] } },
      },
      status: { replicas: 2, readyReplicas: ready || undefined },
    });
    const rows = rowsByColumn('apps/v1', 'replicasets', [
      replicaSet('759b76bcd5', 'nginx:1.11', 0, 60),
      replicaSet('9b459b4c5', 'nginx:latest', 2, 99),
    ]);
    expect(rows.map((r) => [r.Name, r.Desired, r.Current, r.Ready, r.Age, r.Images])).toEqual([
      ['my-nginx-deployment-759b76bcd5', 2, 2, 0, '60s', 'nginx:1.11'],
      ['my-nginx-deployment-9b459b4c5', 2, 2, 2, '99s', 'nginx:latest'],
    ]);
    expect(rows[0].Selector).toBe('app=my-nginx,pod-template-hash=759b76bcd5');
  });

  it('prints StatefulSet readiness and DaemonSet counters', () => {
    const statefulSet: KubeObject = {
      metadata: { name: 'db', creationTimestamp: ago(3600 * 5) },
      spec: { replicas: 3, template: { spec: { containers: [{ name: 'pg', image: 'postgres:17' }] } } },
      status: { readyReplicas: 2 },
    };
    expect(rowByColumn('apps/v1', 'statefulsets', statefulSet)).toEqual({
      Name: 'db',
      Ready: '2/3',
      Age: '5h',
      Containers: 'pg',
      Images: 'postgres:17',
    });

    const daemonSet: KubeObject = {
      metadata: { name: 'svclb', creationTimestamp: ago(86400 * 25) },
      spec: {
        selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['svclb', 'lb'] }] },
        template: {
          spec: {
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            containers: [
              { name: 'lb-tcp-80', image: 'klipper-lb:v0.4' },
              { name: 'lb-tcp-443', image: 'klipper-lb:v0.4' },
            ],
          },
        },
      },
      status: {
        desiredNumberScheduled: 1,
        currentNumberScheduled: 1,
        numberReady: 1,
        updatedNumberScheduled: 1,
        numberAvailable: 1,
      },
    };
    expect(rowByColumn('apps/v1', 'daemonsets', daemonSet)).toEqual({
      Name: 'svclb',
      Desired: 1,
      Current: 1,
      Ready: 1,
      'Up-to-date': 1,
      Available: 1,
      'Node Selector': 'kubernetes.io/os=linux',
      Age: '25d',
      Containers: 'lb-tcp-80,lb-tcp-443',
      Images: 'klipper-lb:v0.4,klipper-lb:v0.4',
      Selector: 'app in (lb,svclb)',
    });
  });

  it('names the controller of a ControllerRevision by kind.group/name', () => {
    const revision: KubeObject = {
      metadata: {
        name: 'db-7d9f8c6b5',
        creationTimestamp: ago(60),
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u', controller: true },
        ],
      },
      revision: 2,
    };
    expect(rowByColumn('apps/v1', 'controllerrevisions', revision)).toEqual({
      Name: 'db-7d9f8c6b5',
      Controller: 'statefulset.apps/db',
      Revision: 2,
      Age: '60s',
    });
  });
});
