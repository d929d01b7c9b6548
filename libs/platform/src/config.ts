import { isIP } from 'net';
import { resolve } from 'path';
import { formatIPv4, parseIPv4Pool, parseQuantity } from '@kubetime/api-machinery';
import { parseDuration, parseRetentionRules, RetentionRule } from './retention';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerConfig {
  /** 0 lets the OS choose, which end-to-end tests rely on. */
  port: number;
  host: string;
  /** Unset means the server runs its own embedded PostgreSQL under the data dir. */
  databaseUrl?: string;
  /** Absolute. */
  dataDir: string;
  /** Extra subject alternative names for the serving certificate, beyond the loopback ones. */
  tlsSans: string[];
  /** Absolute. */
  encryptionConfigPath?: string;
  logLevel: LogLevel;
  maxBodyBytes: number;
  /** The built-in controllers, simulated nodes and kubelets (on unless KUBETIME_CONTROLLERS=off). */
  controllers: {
    enabled: boolean;
    nodes: number;
    /**
     * What each simulated node reports as capacity and allocatable (KUBETIME_NODE_CPU,
     * KUBETIME_NODE_MEMORY, KUBETIME_NODE_MAX_PODS), as Kubernetes quantities.
     */
    nodeCapacity: { cpu: string; memory: string; pods: string };
    leaseRenewIntervalMs: number;
    /** Addresses for LoadBalancer Services (KUBETIME_LOADBALANCER_POOL); unset, they stay pending. */
    loadBalancerPool?: { first: string; last: string };
    /** Run controllers only while holding the controller-manager Lease (on unless KUBETIME_LEADER_ELECT=false). */
    leaderElection: {
      enabled: boolean;
      leaseDurationMs: number;
      renewDeadlineMs: number;
      retryPeriodMs: number;
    };
  };
  /**
   * Retention rules the server applies to every live branch every intervalSeconds; no rules (the
   * default) keeps every version of everything.
   */
  retention: { rules: RetentionRule[]; intervalSeconds: number };
  /** The optional etcd v3 endpoint: off unless ETCD_PORT is set. */
  etcd?: { port: number; host: string; token?: string };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;
const DNS_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Reads the server's settings from environment variables. Every bad value is reported at once, each
 * naming its variable, so a misconfigured container fails with one readable message. Empty strings
 * count as unset because compose files and CI often export variables with no value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (Number.isSafeInteger(value) && value >= min && value <= max) return value;
    problems.push(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return fallback;
  };

  const port = integer('PORT', 6443, 0, 65535);
  const maxBodyBytes = integer('KUBETIME_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1, Number.MAX_SAFE_INTEGER);

  const etcdPort = read('ETCD_PORT') === undefined ? undefined : integer('ETCD_PORT', 0, 0, 65535);
  const etcdHost = read('ETCD_HOST') ?? '127.0.0.1';
  const etcdToken = read('ETCD_TOKEN');
  if (etcdPort !== undefined && !etcdToken && !['127.0.0.1', '::1', 'localhost'].includes(etcdHost)) {
    problems.push(
      'ETCD_HOST other than loopback needs ETCD_TOKEN: the etcd endpoint would serve the whole keyspace (Secrets sealed) to anyone',
    );
  }

  const controllersSetting = (read('KUBETIME_CONTROLLERS') ?? 'on').toLowerCase();
  if (!['on', 'off'].includes(controllersSetting)) {
    problems.push(`KUBETIME_CONTROLLERS must be on or off, got ${JSON.stringify(controllersSetting)}`);
  }
  const nodes = integer('KUBETIME_NODES', 3, 0, 10_000);
  const quantity = (name: string, fallback: string, what: string, valid: (value: number) => boolean) => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = parseQuantity(raw);
    if (value !== undefined && valid(value)) return raw;
    problems.push(`${name} must be ${what}, got ${JSON.stringify(raw)}`);
    return fallback;
  };
  const nodeCapacity = {
    cpu: quantity(
      'KUBETIME_NODE_CPU',
      '4',
      'a positive CPU quantity such as 4 or 2500m',
      // The scheduler counts in millicores: less than one would be a node nothing fits on.
      (cores) => cores >= 0.001,
    ),
    memory: quantity(
      'KUBETIME_NODE_MEMORY',
      '8Gi',
      'a positive whole number of bytes as a quantity such as 8Gi or 16G',
      (bytes) => bytes >= 1 && Number.isInteger(bytes),
    ),
    pods: String(integer('KUBETIME_NODE_MAX_PODS', 110, 1, 100_000)),
  };
  const leaseRenewIntervalMs = integer('KUBETIME_NODE_LEASE_INTERVAL_MS', 10_000, 0, 3_600_000);
  const poolText = read('KUBETIME_LOADBALANCER_POOL');
  const pool = poolText === undefined ? undefined : parseIPv4Pool(poolText);
  if (typeof pool === 'string') problems.push(`KUBETIME_LOADBALANCER_POOL: ${pool}`);

  const leaderElect = (read('KUBETIME_LEADER_ELECT') ?? 'true').toLowerCase();
  if (!['true', 'false'].includes(leaderElect)) {
    problems.push(`KUBETIME_LEADER_ELECT must be true or false, got ${JSON.stringify(leaderElect)}`);
  }
  const leaseDurationMs = integer('KUBETIME_LEADER_LEASE_DURATION_MS', 15_000, 1_000, 3_600_000);
  const renewDeadlineMs = integer('KUBETIME_LEADER_RENEW_DEADLINE_MS', 10_000, 1, 3_600_000);
  const retryPeriodMs = integer('KUBETIME_LEADER_RETRY_PERIOD_MS', 2_000, 1, 3_600_000);
  // client-go refuses these too: a leader must give up before its Lease can be seen as expired, and
  // must get several tries at renewing before it gives up.
  if (renewDeadlineMs >= leaseDurationMs) {
    problems.push(
      `KUBETIME_LEADER_RENEW_DEADLINE_MS (${renewDeadlineMs}) must be less than KUBETIME_LEADER_LEASE_DURATION_MS (${leaseDurationMs})`,
    );
  }
  if (retryPeriodMs * 1.2 >= renewDeadlineMs) {
    problems.push(
      `KUBETIME_LEADER_RETRY_PERIOD_MS (${retryPeriodMs}) times 1.2 must be less than KUBETIME_LEADER_RENEW_DEADLINE_MS (${renewDeadlineMs})`,
    );
  }

  const host = read('HOST') ?? '127.0.0.1';
  if (/\s/.test(host)) problems.push(`HOST must be an address or host name, got ${JSON.stringify(host)}`);

  const databaseUrl = read('DATABASE_URL');
  if (databaseUrl !== undefined && !isPostgresUrl(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }

  const tlsSans = (read('KUBETIME_TLS_SANS') ?? '')
    .split(',')
    .map((san) => san.trim().toLowerCase())
    .filter((san) => san !== '');
  for (const san of tlsSans) {
    if (!isIP(san) && !DNS_NAME.test(san)) {
      problems.push(
        `KUBETIME_TLS_SANS entries must be IP addresses or DNS names, got ${JSON.stringify(san)}`,
      );
    }
  }

  const retentionText = read('KUBETIME_RETENTION');
  let retentionRules: RetentionRule[] = [];
  if (retentionText !== undefined) {
    try {
      retentionRules = parseRetentionRules(retentionText);
    } catch (error) {
      problems.push(`KUBETIME_RETENTION: ${(error as Error).message}`);
    }
  }
  const rawInterval = read('KUBETIME_RETENTION_INTERVAL') ?? '10m';
  const retentionInterval = parseDuration(rawInterval);
  if (!retentionInterval) {
    problems.push(
      `KUBETIME_RETENTION_INTERVAL must be a positive age such as 30s, 10m or 1h, got ${JSON.stringify(rawInterval)}`,
    );
  }

  const rawLevel = (read('LOG_LEVEL') ?? 'info').toLowerCase();
  let logLevel: LogLevel = 'info';
  const knownLevel = LOG_LEVELS.find((level) => level === rawLevel);
  if (knownLevel) logLevel = knownLevel;
  else problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(rawLevel)}`);

  if (problems.length > 0) throw new ConfigError(problems);

  const encryptionConfig = read('KUBETIME_ENCRYPTION_CONFIG');
  return {
    port,
    host,
    databaseUrl,
    dataDir: resolve(read('KUBETIME_DATA_DIR') ?? '.kubetime'),
    tlsSans: [...new Set(tlsSans)],
    encryptionConfigPath: encryptionConfig === undefined ? undefined : resolve(encryptionConfig),
    logLevel,
    maxBodyBytes,
    controllers: {
      enabled: controllersSetting !== 'off',
      nodes,
      nodeCapacity,
      leaseRenewIntervalMs,
      ...(pool && typeof pool !== 'string'
        ? { loadBalancerPool: { first: formatIPv4(pool.first), last: formatIPv4(pool.last) } }
        : {}),
      leaderElection: { enabled: leaderElect === 'true', leaseDurationMs, renewDeadlineMs, retryPeriodMs },
    },
    retention: { rules: retentionRules, intervalSeconds: retentionInterval ?? 600 },
    ...(etcdPort === undefined
      ? {}
      : { etcd: { port: etcdPort, host: etcdHost, ...(etcdToken ? { token: etcdToken } : {}) } }),
  };
}

function isPostgresUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'postgres:' || protocol === 'postgresql:';
  } catch {
    return false;
  }
}
