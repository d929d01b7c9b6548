import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  requests: Counter<'verb' | 'resource' | 'code'>;
  requestDuration: Histogram<'verb' | 'resource'>;
  eventsAppended: Counter;
  watchesOpen: Gauge;
}

/** A subset of kube-apiserver's own buckets, so dashboards built for it read these the same way. */
const REQUEST_DURATION_BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.5, 2, 3, 5, 10, 30, 60];

/** Each call gets its own registry, so several servers in one test process never collide. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'apiserver_request_total',
      help: 'API requests, by verb, resource and HTTP status code.',
      labelNames: ['verb', 'resource', 'code'] as const,
      registers,
    }),
    requestDuration: new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'API request latency in seconds, by verb and resource.',
      labelNames: ['verb', 'resource'] as const,
      buckets: REQUEST_DURATION_BUCKETS,
      registers,
    }),
    eventsAppended: new Counter({
      name: 'kubetime_events_appended_total',
      help: 'Events appended to the event log.',
      registers,
    }),
    watchesOpen: new Gauge({
      name: 'kubetime_watches_open',
      help: 'Watch streams currently open.',
      registers,
    }),
  };
}
