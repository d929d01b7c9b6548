import { randomBytes, randomUUID } from 'crypto';
import { lookup } from 'dns/promises';
import { isIP } from 'net';
import { hostname } from 'os';
import { readFile, writeFile } from 'fs/promises';
import { join } from 'path';
import { OpenApiCatalog } from '@kubetime/api-machinery';
import {
  ApiServer,
  Authenticator,
  Authorizer,
  bootstrapCluster,
  runNamespaceFinalizer,
} from '@kubetime/apiserver';
import { loadEncryptionConfig } from '@kubetime/encryption';
import { startEtcdEndpoint } from '@kubetime/etcd-compat';
import {
  ControllerManager,
  LeaderElector,
  StartAborted,
  resourceLeaseClient,
  startControllers,
} from '@kubetime/controllers';
import { ControllerProgressStore, createPool, EventStore, migrate } from '@kubetime/event-store';
import {
  ConfigError,
  createLogger,
  createMetrics,
  ensureAdminToken,
  ensureTls,
  Metrics,
  ServerConfig,
  startEmbeddedPostgres,
  writeKubeconfig,
} from '@kubetime/platform';
import type { Pool } from 'pg';
import type { Subscription } from 'rxjs';
import {
  BranchControllers,
  RetentionSchedule,
  retentionPrefix,
  TimeTravelService,
} from '@kubetime/time-travel';

export type Logger = ReturnType<typeof createLogger>;

/**
 * Everything one kubetime server process runs, in start order, and stopped in reverse: the database
 * (embedded unless DATABASE_URL is set), the schema, the event store, the API, and the built-in
 * cluster bootstrap. NestJS wires this object into the HTTP server; it knows nothing of NestJS.
 */
export class KubetimeRuntime {
  private embedded?: { url: string; stop(): Promise<void> };
  private pool?: Pool;
  private subscriptions: Subscription[] = [];
  events!: EventStore;
  api!: ApiServer;
  authenticator!: Authenticator;
  authorizer!: Authorizer;
  timeTravel!: TimeTravelService;
  etcd?: { port: number; close(): Promise<void> };
  controllers?: ControllerManager;
  /** Set when leader election is on: controllers run only while it holds the Lease. */
  elector?: LeaderElector;
  private branchSync?: ReturnType<typeof setInterval>;
  /** The control planes of every branch but main, when controllers are enabled. */
  branchControllers?: BranchControllers;
  metrics!: Metrics;
  retention?: RetentionSchedule;
  tls!: { caPem: string; certPem: string; keyPem: string };
  kubeconfigPath!: string;

  constructor(
    readonly config: ServerConfig,
    readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const { config, log } = this;
    // Rule names are checked against the registry before anything starts, as bad env values are.
    const unknown = config.retention.rules
      .flatMap((rule) => rule.resources)
      .flatMap((name) => {
        try {
          retentionPrefix(name);
          return [];
        } catch (error) {
          return [`KUBETIME_RETENTION: ${(error as Error).message}`];
        }
      });
    if (unknown.length) throw new ConfigError(unknown);
    this.metrics = createMetrics();
    let url = config.databaseUrl;
    if (!url) {
      this.embedded = await startEmbeddedPostgres(join(config.dataDir, 'postgres'), log);
      url = this.embedded.url;
    }
    await migrate(url);
    this.pool = createPool(url, { max: 10 });
    const bodies = await loadEncryptionConfig({
      configPath: config.encryptionConfigPath,
      dataDir: config.dataDir,
    });
    this.events = await EventStore.open({
      pool: this.pool,
      url,
      bodies,
      onAppended: (n) => this.metrics.eventsAppended.inc(n),
    });
    this.tls = await ensureTls(config.dataDir, config.tlsSans);
    const token = await ensureAdminToken(config.dataDir);
    const signingKey = await persistentSecret(join(config.dataDir, 'serviceaccount-signing.key'));
    const serverAddress = `${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
    this.authenticator = new Authenticator(token, signingKey);
    this.authorizer = new Authorizer(this.events);
    this.api = new ApiServer({
      events: this.events,
      authenticator: this.authenticator,
      openapi: OpenApiCatalog.load(),
      maxBodyBytes: config.maxBodyBytes,
      serverAddress,
      metrics: {
        observe: (verb, resource, code, seconds) => {
          this.metrics.requests.inc({ verb, resource, code: String(code) });
          this.metrics.requestDuration.observe({ verb, resource }, seconds);
        },
        watchOpened: () => this.metrics.watchesOpen.inc(),
        watchClosed: () => this.metrics.watchesOpen.dec(),
      },
    });
    const nodes = {
      count: config.controllers.nodes,
      capacity: config.controllers.nodeCapacity,
      leaseRenewIntervalMs: config.controllers.leaseRenewIntervalMs,
    };
    const progress = new ControllerProgressStore(this.pool);
    const onNotice = (message: string, details: Record<string, unknown>) => log.info(details, message);
    const election = config.controllers.leaderElection;
    if (config.controllers.enabled) {
      this.branchControllers = new BranchControllers({
        events: this.events,
        resources: this.api.resources,
        nodes,
        caPem: this.tls.caPem,
        loadBalancerPool: config.controllers.loadBalancerPool,
        progress,
        onNotice,
        leading: !election.enabled,
        onError: (branch, controller, key, error) =>
          log.warn({ branch, controller, key, err: error }, 'reconcile failed'),
      });
    }
    this.timeTravel = new TimeTravelService({
      events: this.events,
      resources: this.api.resources,
      authorizer: this.authorizer,
      // Keys the HMAC markers that stand in for Secret values, so they cannot be brute-forced offline
      // and stay comparable across restarts.
      pepper: await persistentSecret(join(config.dataDir, 'timetravel-redaction.pepper')),
      branchControllers: this.branchControllers,
    });
    // Listening on every interface, the loopback address is the one this machine's clients can use.
    const advertised = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const advertisedIp = isIP(advertised) ? advertised : (await lookup(advertised)).address;
    await bootstrapCluster(
      this.api.resources,
      'main',
      { address: advertisedIp, port: config.port },
      () => new Date(),
    );
    // The namespace controller is part of the controller manager upstream: with several servers on one
    // database, only the Lease holder finalizes namespaces. Without controllers it still runs, so a
    // deleted namespace never stays Terminating.
    let namespaceFinalizer: Subscription | undefined;
    const startNamespaceFinalizer = async () => {
      namespaceFinalizer = await runNamespaceFinalizer(
        this.events,
        this.api.resources,
        'main',
        () => new Date(),
      );
      this.subscriptions.push(namespaceFinalizer);
    };
    const stopNamespaceFinalizer = () => {
      namespaceFinalizer?.unsubscribe();
      this.subscriptions = this.subscriptions.filter((s) => s !== namespaceFinalizer);
      namespaceFinalizer = undefined;
    };
    const startMain = async (signal?: AbortSignal) => {
      this.controllers = await startControllers({
        signal,
        events: this.events,
        resources: this.api.resources,
        branch: 'main',
        nodes,
        caPem: this.tls.caPem,
        loadBalancerPool: config.controllers.loadBalancerPool,
        progress,
        onNotice,
        onError: (controller, key, error) => log.warn({ controller, key, err: error }, 'reconcile failed'),
      });
    };
    if (config.controllers.enabled && election.enabled) {
      const identity = `${hostname()}_${randomUUID()}`;
      this.elector = new LeaderElector({
        identity,
        namespace: 'kube-system',
        name: 'kubetime-controller-manager',
        leaseDurationMs: election.leaseDurationMs,
        renewDeadlineMs: election.renewDeadlineMs,
        retryPeriodMs: election.retryPeriodMs,
        client: resourceLeaseClient(this.api.resources, {
          branch: 'main',
          namespace: 'kube-system',
          name: 'kubetime-controller-manager',
        }),
        onStartedLeading: async (term) => {
          log.info({ identity }, 'leading: controllers start');
          // Each step may take a while; a term that ended meanwhile starts nothing more, and
          // onStoppedLeading stops what did start.
          await startNamespaceFinalizer();
          if (term.aborted) return;
          try {
            await startMain(term);
            if (term.aborted) return;
            // Branches that exist already (created before a restart, or by another server) are live
            // clusters too; the catalog is looked at again every retry period for new ones.
            await this.branchControllers?.lead(term);
          } catch (error) {
            if (error instanceof StartAborted) return;
            throw error;
          }
          if (term.aborted) return;
          this.branchSync = setInterval(
            () => void this.branchControllers?.sync().catch((err) => log.warn({ err }, 'branch sync failed')),
            election.retryPeriodMs,
          );
        },
        onStoppedLeading: async () => {
          log.warn({ identity }, 'not leading: controllers stop');
          clearInterval(this.branchSync);
          stopNamespaceFinalizer();
          await this.controllers?.stop();
          this.controllers = undefined;
          await this.branchControllers?.standby();
        },
        onError: (what, err) => log.warn({ identity, err }, `leader election: ${what}`),
      });
      await this.elector.start();
    } else {
      await startNamespaceFinalizer();
      if (config.controllers.enabled) {
        await startMain();
        await this.branchControllers?.startAll();
      }
    }
    if (config.etcd) {
      this.etcd = await startEtcdEndpoint({
        store: this.events,
        host: config.etcd.host,
        port: config.etcd.port,
        token: config.etcd.token,
        branch: 'main',
      });
      log.info({ host: config.etcd.host, port: this.etcd.port }, 'etcd v3 endpoint listening (read-only)');
    }
    this.retention = new RetentionSchedule({
      events: this.events,
      rules: config.retention.rules,
      intervalSeconds: config.retention.intervalSeconds,
      onRun: (branch, outcomes) => {
        const deletedEvents = outcomes.reduce((n, o) => n + o.deletedEvents, 0);
        if (deletedEvents) log.info({ branch, rules: outcomes }, 'retention compacted history');
      },
      onError: (error) => log.warn({ err: error }, 'retention run failed; the next one retries'),
    });
    this.retention.start();
    this.kubeconfigPath = await writeKubeconfig(config.dataDir, {
      server: `https://${advertised.includes(':') ? `[${advertised}]` : advertised}:${config.port}`,
      caPem: this.tls.caPem,
      token,
    });
    log.info(
      { kubeconfig: this.kubeconfigPath, revision: (await this.events.branch()).revision },
      'kubetime is ready',
    );
  }

  /** Watches end cleanly, queued writes commit, then the database stops. */
  async stop(): Promise<void> {
    await this.retention?.stop();
    await this.etcd?.close();
    this.api?.closeWatches();
    // Stops this process's controllers, then hands the Lease over at once.
    await this.elector?.stop();
    await this.controllers?.stop();
    await this.branchControllers?.stopAll();
    for (const s of this.subscriptions) s.unsubscribe();
    await this.events?.close();
    await this.pool?.end();
    await this.embedded?.stop();
    this.log.info('kubetime stopped');
  }
}

/** A random secret generated on first start and kept in the data dir (mode 0600). */
async function persistentSecret(path: string): Promise<Buffer> {
  try {
    return Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
  } catch {
    const secret = randomBytes(32);
    await writeFile(path, secret.toString('base64') + '\n', { mode: 0o600, flag: 'wx' }).catch(
      () => undefined,
    );
    return Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
  }
}
