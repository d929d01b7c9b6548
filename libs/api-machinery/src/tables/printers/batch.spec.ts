import { KubeObject } from '../../object';
import { ago, render, rowByColumn } from '../spec-fixtures';

const podTemplate = { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl:5.34' }] } };
const controllerUid = 'c8a1e7b0-8d4f-4f2e-9a61-2f1d3c4b5a69';

function job(
  status: Record<string, unknown>,
  spec: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
): KubeObject {
  return {
    metadata: { name: 'pi', creationTimestamp: ago(300), ...metadata },
    spec: {
      completions: 1,
      parallelism: 1,
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': controllerUid } },
      template: podTemplate,
      ...spec,
    },
    status,
  };
}

describe('job table', () => {
  it('prints a completed job with its run duration and wide cells', () => {
    const complete = job({
      startTime: ago(300),
      completionTime: ago(262),
      succeeded: 1,
      conditions: [
        { type: 'SuccessCriteriaMet', status: 'True' },
        { type: 'Complete', status: 'True' },
      ],
    });
    expect(rowByColumn('batch/v1', 'jobs', complete)).toEqual({
      Name: 'pi',
      Status: 'Complete',
      Completions: '1/1',
      Duration: '38s',
      Age: '5m',
      Containers: 'pi',
      Images: 'perl:5.34',
      Selector: `batch.kubernetes.io/controller-uid=${controllerUid}`,
    });
  });

  it('measures a running job up to now and leaves an unstarted one blank', () => {
    expect(rowByColumn('batch/v1', 'jobs', job({ startTime: ago(150), active: 1 }))).toMatchObject({
      Status: 'Running',
      Completions: '0/1',
      Duration: '2m30s',
    });
    expect(rowByColumn('batch/v1', 'jobs', job({})).Duration).toBe('');
  });

  it.each([
    [{ conditions: [{ type: 'Failed', status: 'True' }] }, {}, 'Failed'],
    [{ conditions: [{ type: 'Suspended', status: 'True' }] }, {}, 'Suspended'],
    [{ conditions: [{ type: 'FailureTarget', status: 'True' }] }, {}, 'FailureTarget'],
    [{ conditions: [{ type: 'Complete', status: 'False' }] }, { deletionTimestamp: ago(1) }, 'Terminating'],
  ])('status %j %j is %s', (status, metadata, expected) => {
    expect(rowByColumn('batch/v1', 'jobs', job(status, {}, metadata)).Status).toBe(expected);
  });

  it('words completions of work-queue jobs', () => {
    expect(rowByColumn('batch/v1', 'jobs', job({ succeeded: 2 }, { completions: 5 })).Completions).toBe(
      '2/5',
    );
    expect(
      rowByColumn('batch/v1', 'jobs', job({}, { completions: undefined, parallelism: 3 })).Completions,
    ).toBe('0/1 of 3');
    expect(
      rowByColumn('batch/v1', 'jobs', job({ succeeded: 1 }, { completions: undefined })).Completions,
    ).toBe('1/1');
  });
});

describe('cronjob table', () => {
  const cronJob = (spec: Record<string, unknown>, status: Record<string, unknown>): KubeObject => ({
    metadata: { name: 'hello', creationTimestamp: ago(86400 * 2 + 3600 * 5) },
    spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: podTemplate } }, ...spec },
    status,
  });

  it('prints schedule, time zone, suspension, active jobs and last schedule', () => {
    const row = rowByColumn(
      'batch/v1',
      'cronjobs',
      cronJob(
        { suspend: false, timeZone: 'Asia/Seoul' },
        { active: [{ name: 'hello-29330000' }], lastScheduleTime: ago(62) },
      ),
    );
    expect(row).toEqual({
      Name: 'hello',
      Schedule: '*/5 * * * *',
      Timezone: 'Asia/Seoul',
      Suspend: 'False',
      Active: 1,
      'Last Schedule': '62s',
      Age: '2d5h',
      Containers: 'pi',
      Images: 'perl:5.34',
      Selector: '<none>',
    });
  });

  it('shows <none> before the first run and <unset> without suspend', () => {
    expect(rowByColumn('batch/v1', 'cronjobs', cronJob({}, {}))).toMatchObject({
      Timezone: '<none>',
      Suspend: '<unset>',
      Active: 0,
      'Last Schedule': '<none>',
    });
  });

  it('declares Suspend as a boolean column', () => {
    const suspend = render('batch/v1', 'cronjobs', []).columnDefinitions.find((c) => c.name === 'Suspend');
    expect(suspend).toMatchObject({ type: 'boolean', priority: 0 });
  });
});
