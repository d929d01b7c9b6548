import { KubeObject } from '../../object';
import { ago, render, rowByColumn } from '../spec-fixtures';

describe('event table', () => {
  const backOff: KubeObject = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'my-nginx-deployment-759b76bcd5-4jccd.1869f0d2c3a1b2c4', namespace: 'default' },
    involvedObject: {
      kind: 'Pod',
      name: 'my-nginx-deployment-759b76bcd5-4jccd',
      namespace: 'default',
      fieldPath: 'spec.containers{nginx}',
    },
    type: 'Warning',
    reason: 'BackOff',
    message: 'Back-off restarting failed container nginx in pod my-nginx-deployment-759b76bcd5-4jccd\n',
    source: { component: 'kubelet', host: 'rpi4b' },
    firstTimestamp: ago(110),
    lastTimestamp: ago(29),
    count: 7,
  };

  it('prints the default and wide columns in upstream order', () => {
    const table = render('v1', 'events', [backOff]);
    expect(table.columnDefinitions.map((c) => [c.name, c.priority])).toEqual([
      ['Last Seen', 0],
      ['Type', 0],
      ['Reason', 0],
      ['Object', 0],
      ['Subobject', 1],
      ['Source', 1],
      ['Message', 0],
      ['First Seen', 1],
      ['Count', 1],
      ['Name', 1],
    ]);
    expect(rowByColumn('v1', 'events', backOff)).toEqual({
      'Last Seen': '29s',
      Type: 'Warning',
      Reason: 'BackOff',
      Object: 'pod/my-nginx-deployment-759b76bcd5-4jccd',
      Subobject: 'spec.containers{nginx}',
      Source: 'kubelet, rpi4b',
      Message: 'Back-off restarting failed container nginx in pod my-nginx-deployment-759b76bcd5-4jccd',
      'First Seen': '110s',
      Count: 7,
      Name: 'my-nginx-deployment-759b76bcd5-4jccd.1869f0d2c3a1b2c4',
    });
  });

  it('falls back to eventTime, the reporting controller and a count of one', () => {
    const scheduled: KubeObject = {
      metadata: { name: 'web.1' },
      involvedObject: { kind: 'Pod', name: 'web' },
      type: 'Normal',
      reason: 'Scheduled',
      message: 'Successfully assigned default/web to rpi4b',
      eventTime: '2025-10-10T03:58:00.123456Z',
      reportingController: 'default-scheduler',
      reportingInstance: 'default-scheduler-rpi4b',
    };
    // eventTime carries microseconds; 119.87s truncates to 119s.
    expect(rowByColumn('v1', 'events', scheduled)).toMatchObject({
      'Last Seen': '119s',
      'First Seen': '119s',
      Source: 'default-scheduler, default-scheduler-rpi4b',
      Count: 1,
    });
  });

  it('prints an event about a whole cluster-scoped kind without a name', () => {
    const event: KubeObject = {
      metadata: { name: 'n' },
      involvedObject: { kind: 'Node' },
      lastTimestamp: ago(5),
    };
    expect(rowByColumn('v1', 'events', event)).toMatchObject({
      Object: 'node',
      'Last Seen': '5s',
      'First Seen': '<unknown>',
    });
  });

  it('reads events.k8s.io/v1 field names and series', () => {
    const event: KubeObject = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'web.2' },
      regarding: { kind: 'Deployment', name: 'web', fieldPath: '' },
      note: 'Scaled up replica set web-5d4f to 3',
      type: 'Normal',
      reason: 'ScalingReplicaSet',
      eventTime: ago(600),
      series: { count: 4, lastObservedTime: ago(30) },
      reportingController: 'deployment-controller',
    };
    expect(rowByColumn('events.k8s.io/v1', 'events', event)).toMatchObject({
      'Last Seen': '30s',
      Object: 'deployment/web',
      Source: 'deployment-controller',
      Message: 'Scaled up replica set web-5d4f to 3',
      'First Seen': '10m',
      Count: 4,
    });
  });
});
