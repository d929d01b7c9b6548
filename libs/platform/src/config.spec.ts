import { isAbsolute, join } from 'path';
import { ConfigError, loadConfig } from './config';
import { parseDuration, parseRetentionRules } from './retention';

describe('loadConfig', () => {
  it('falls back to the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      port: 6443,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: join(process.cwd(), '.kubetime'),
      tlsSans: [],
      encryptionConfigPath: undefined,
      logLevel: 'info',
      maxBodyBytes: 3145728,
      controllers: {
        enabled: true,
        nodes: 3,
        nodeCapacity: { cpu: '4', memory: '8Gi', pods: '110' },
        leaseRenewIntervalMs: 10000,
        leaderElection: {
          enabled: true,
          leaseDurationMs: 15000,
          renewDeadlineMs: 10000,
          retryPeriodMs: 2000,
        },
      },
      retention: { rules: [], intervalSeconds: 600 },
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '16443',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://postgres:postgres@db:5432/kubetime',
      KUBETIME_DATA_DIR: 'state/kt',
      KUBETIME_TLS_SANS: ' kubetime, Kubetime.Example.com,10.0.0.7 ,, fd00::1,kubetime',
      KUBETIME_ENCRYPTION_CONFIG: 'enc.yaml',
      LOG_LEVEL: 'DEBUG',
      KUBETIME_MAX_BODY_BYTES: '1024',
      KUBETIME_CONTROLLERS: 'OFF',
      KUBETIME_NODES: '5',
      KUBETIME_NODE_CPU: '2500m',
      KUBETIME_NODE_MEMORY: '16G',
      KUBETIME_NODE_MAX_PODS: '250',
      KUBETIME_NODE_LEASE_INTERVAL_MS: '0',
      KUBETIME_LOADBALANCER_POOL: '172.18.255.200-172.18.255.250',
      KUBETIME_LEADER_ELECT: 'False',
      KUBETIME_LEADER_LEASE_DURATION_MS: '3000',
      KUBETIME_LEADER_RENEW_DEADLINE_MS: '2000',
      KUBETIME_LEADER_RETRY_PERIOD_MS: '500',
      ETCD_PORT: '2379',
      ETCD_HOST: '0.0.0.0',
      ETCD_TOKEN: 'secret-token',
      KUBETIME_RETENTION: 'coordination.k8s.io/leases=1h, events,events.k8s.io/events=2d',
      KUBETIME_RETENTION_INTERVAL: '30s',
    });
    expect(config).toEqual({
      port: 16443,
      host: '0.0.0.0',
      databaseUrl: 'postgres://postgres:postgres@db:5432/kubetime',
      dataDir: join(process.cwd(), 'state/kt'),
      tlsSans: ['kubetime', 'kubetime.example.com', '10.0.0.7', 'fd00::1'],
      encryptionConfigPath: join(process.cwd(), 'enc.yaml'),
      logLevel: 'debug',
      maxBodyBytes: 1024,
      controllers: {
        enabled: false,
        nodes: 5,
        nodeCapacity: { cpu: '2500m', memory: '16G', pods: '250' },
        leaseRenewIntervalMs: 0,
        loadBalancerPool: { first: '172.18.255.200', last: '172.18.255.250' },
        leaderElection: { enabled: false, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 },
      },
      retention: {
        rules: [
          { resources: ['coordination.k8s.io/leases'], olderThanSeconds: 3600 },
          { resources: ['events', 'events.k8s.io/events'], olderThanSeconds: 172800 },
        ],
        intervalSeconds: 30,
      },
      etcd: { port: 2379, host: '0.0.0.0', token: 'secret-token' },
    });
    expect(isAbsolute(config.dataDir)).toBe(true);
  });

  it('treats empty values as unset', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', KUBETIME_ENCRYPTION_CONFIG: ' ' });
    expect(config.port).toBe(6443);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.encryptionConfigPath).toBeUndefined();
  });

  it('accepts port 0 so tests can let the OS choose', () => {
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['KUBETIME_MAX_BODY_BYTES', '0'],
    ['KUBETIME_CONTROLLERS', 'maybe'],
    ['KUBETIME_NODES', 'three'],
    ['KUBETIME_NODE_CPU', '0'],
    ['KUBETIME_NODE_CPU', '-2'],
    ['KUBETIME_NODE_CPU', '4 cores'],
    ['KUBETIME_NODE_CPU', '0.1m'],
    ['KUBETIME_NODE_MEMORY', '8GB'],
    ['KUBETIME_NODE_MEMORY', '0'],
    ['KUBETIME_NODE_MEMORY', '100m'],
    ['KUBETIME_NODE_MAX_PODS', '0'],
    ['KUBETIME_NODE_MAX_PODS', '1.5'],
    ['KUBETIME_MAX_BODY_BYTES', '3MiB'],
    ['LOG_LEVEL', 'verbose'],
    ['DATABASE_URL', 'mysql://db/kubetime'],
    ['DATABASE_URL', 'not a url'],
    ['KUBETIME_TLS_SANS', 'ok.example,bad_name!'],
    ['HOST', 'two words'],
    ['KUBETIME_LOADBALANCER_POOL', '10.0.0.0/40'],
    ['KUBETIME_LOADBALANCER_POOL', '10.0.0.9-10.0.0.1'],
    ['KUBETIME_LOADBALANCER_POOL', 'ten addresses'],
    ['KUBETIME_LEADER_ELECT', 'yes'],
    ['KUBETIME_LEADER_LEASE_DURATION_MS', '500'],
    ['KUBETIME_LEADER_RENEW_DEADLINE_MS', '15000'],
    ['KUBETIME_LEADER_RETRY_PERIOD_MS', '9000'],
    ['KUBETIME_RETENTION', 'leases'],
    ['KUBETIME_RETENTION', 'leases=1 hour'],
    ['KUBETIME_RETENTION', 'leases=1h,,events=1h'],
    ['KUBETIME_RETENTION', '=1h'],
    ['KUBETIME_RETENTION_INTERVAL', '0'],
    ['KUBETIME_RETENTION_INTERVAL', '-5m'],
    ['KUBETIME_RETENTION_INTERVAL', 'often'],
  ])('rejects %s=%j, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('explains what a node setting accepts', () => {
    expect(() => loadConfig({ KUBETIME_NODE_MEMORY: '8GB' })).toThrow(
      'KUBETIME_NODE_MEMORY must be a positive whole number of bytes as a quantity such as 8Gi or 16G, got "8GB"',
    );
    expect(() => loadConfig({ KUBETIME_NODE_CPU: 'four' })).toThrow(
      'KUBETIME_NODE_CPU must be a positive CPU quantity such as 4 or 2500m, got "four"',
    );
  });

  it('reports every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toHaveLength(2);
      expect((error as Error).message).toContain('PORT must be an integer from 0 to 65535, got "abc"');
      expect((error as Error).message).toContain('LOG_LEVEL');
    }
  });
});

describe('the LoadBalancer pool', () => {
  it('is read as a CIDR of host addresses', () => {
    expect(
      loadConfig({ KUBETIME_LOADBALANCER_POOL: '192.168.49.0/28' }).controllers.loadBalancerPool,
    ).toEqual({
      first: '192.168.49.1',
      last: '192.168.49.14',
    });
  });
});

describe('the etcd endpoint settings', () => {
  it('stay off unless ETCD_PORT is set', () => {
    expect(loadConfig({}).etcd).toBeUndefined();
    expect(loadConfig({ ETCD_PORT: '2379' }).etcd).toEqual({ port: 2379, host: '127.0.0.1' });
  });

  it('refuse a non-loopback endpoint without a token', () => {
    expect(() => loadConfig({ ETCD_PORT: '2379', ETCD_HOST: '0.0.0.0' })).toThrow(
      /ETCD_HOST other than loopback needs ETCD_TOKEN/,
    );
  });
});

describe('retention rules', () => {
  it('share an age among the resources listed before it', () => {
    expect(parseRetentionRules('leases,events=1h')).toEqual([
      { resources: ['leases', 'events'], olderThanSeconds: 3600 },
    ]);
    expect(parseRetentionRules('leases=90,events=10m')).toEqual([
      { resources: ['leases'], olderThanSeconds: 90 },
      { resources: ['events'], olderThanSeconds: 600 },
    ]);
  });

  it('accept an age of zero (keep only the latest version of everything older than now)', () => {
    expect(parseRetentionRules('leases=0s')).toEqual([{ resources: ['leases'], olderThanSeconds: 0 }]);
  });

  it.each([
    ['', 'empty entry'],
    ['leases,events', 'no age given'],
    ['leases=1h=2h', 'is not resource or resource=age'],
    ['leases=-1h', 'is not an age'],
    ['leases=1w', 'is not an age'],
  ])('refuse %j', (text, message) => {
    expect(() => parseRetentionRules(text)).toThrow(message);
  });

  it('read durations in seconds, minutes, hours and days', () => {
    expect([parseDuration('45'), parseDuration('2m'), parseDuration('3h'), parseDuration('1d')]).toEqual([
      45, 120, 10800, 86400,
    ]);
    expect(parseDuration('1.5h')).toBeUndefined();
  });
});
