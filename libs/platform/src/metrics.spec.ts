import { createMetrics } from './metrics';

describe('createMetrics', () => {
  it('exposes the apiserver and kubetime series with default process metrics', async () => {
    const metrics = createMetrics();
    metrics.requests.inc({ verb: 'LIST', resource: 'pods', code: '200' });
    metrics.requestDuration.observe({ verb: 'LIST', resource: 'pods' }, 0.03);
    metrics.eventsAppended.inc(3);
    metrics.watchesOpen.inc();
    metrics.watchesOpen.inc();
    metrics.watchesOpen.dec();
    const text = await metrics.registry.metrics();
    expect(text).toContain('apiserver_request_total{verb="LIST",resource="pods",code="200"} 1');
    expect(text).toContain(
      'apiserver_request_duration_seconds_bucket{le="0.05",verb="LIST",resource="pods"} 1',
    );
    expect(text).toContain('kubetime_events_appended_total 3');
    expect(text).toContain('kubetime_watches_open 1');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('gives each call its own registry', async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.eventsAppended.inc();
    expect(await second.registry.getSingleMetricAsString('kubetime_events_appended_total')).toContain(
      'kubetime_events_appended_total 0',
    );
  });
});
