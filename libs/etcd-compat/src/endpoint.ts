import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { BranchHead, EventStore, StoredEvent } from '@kubetime/event-store';
import { RevisionCompacted } from '@kubetime/event-store';
import { concatMap, filter, Subscription, throwError } from 'rxjs';
import { saveEtcdSnapshot } from './export';
import { etcdValue, KeyRange, RAW_COLUMNS, RawRow, stateSql } from './rows';

export interface EtcdEndpointOptions {
  store: EventStore;
  /** Loopback unless the operator asks otherwise: the endpoint serves every stored value, Secrets sealed. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * When set, every call needs it, as etcd's auth token (`token` metadata). `etcdctl --user any:<token>`
   * and the etcd3 client's `auth` get it through Authenticate with the token as the password.
   */
  token?: string;
  branch?: string;
}

export interface EtcdEndpoint {
  port: number;
  close(): Promise<void>;
}

/** The etcd version we answer as: the v3 API of etcd 3.4, which etcdctl 3.4+ and the etcd3 client speak. */
const ETCD_VERSION = '3.4.0';
const SNAPSHOT_CHUNK = 64 * 1024;

const PERMISSION_DENIED = 'etcdserver: permission denied';
const READ_ONLY = `${PERMISSION_DENIED} (kubetime's etcd endpoint is read-only: the Kubernetes API is the only writer)`;

type Call =
  grpc.ServerUnaryCall<any, any> | grpc.ServerWritableStream<any, any> | grpc.ServerDuplexStream<any, any>;

class GrpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An etcd v3 gRPC endpoint over the event log, for the tools operators already use against a cluster's
 * etcd: KV Range, Watch, Maintenance Status/Alarm/Snapshot and Cluster MemberList. Writes are refused
 * with PermissionDenied; values are the bytes kube-apiserver would have stored (Secrets sealed).
 */
export async function startEtcdEndpoint(options: EtcdEndpointOptions): Promise<EtcdEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const branch = options.branch ?? 'main';
  const { store, token } = options;
  await store.branch(branch); // fail now, not on the first call, when the branch does not exist
  const ids = clusterIds(store, branch);
  const proto = grpc.loadPackageDefinition(
    protoLoader.loadSync(require.resolve('etcd3/proto/rpc.proto'), {
      keepCase: true,
      longs: Number,
      enums: Number,
      defaults: true,
      oneofs: true,
    }),
  ) as any;
  const pb = proto.etcdserverpb;

  const header = (head: BranchHead, revision = head.revision) => ({
    cluster_id: ids.cluster,
    member_id: ids.member,
    revision,
    raft_term: 1,
  });

  const authorize = (call: Call) => {
    if (token === undefined) return;
    const sent = call.metadata.get('token')[0];
    if (typeof sent !== 'string' || !constantTimeEqual(sent, token)) {
      throw new GrpcError(grpc.status.UNAUTHENTICATED, 'etcdserver: invalid auth token');
    }
  };

  /** Unary handler: authorization, then the work, errors mapped to gRPC statuses. */
  const unary =
    (work: (request: any, head: BranchHead) => Promise<unknown>, open = false) =>
    (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
      Promise.resolve()
        .then(async () => {
          if (!open) authorize(call);
          return work(call.request, await store.branch(branch));
        })
        .then(
          (response) => callback(null, response),
          (error) => callback(toServiceError(error)),
        );
    };
  const refuse = () =>
    unary(async () => {
      throw new GrpcError(grpc.status.PERMISSION_DENIED, READ_ONLY);
    });

  const server = new grpc.Server();
  server.addService(pb.KV.service, {
    Range: unary((request, head) => range(store, head, request, header)),
    Put: refuse(),
    DeleteRange: refuse(),
    Compact: refuse(),
    Txn: unary(async (request) => {
      const ops = [...(request.success ?? []), ...(request.failure ?? [])];
      if (ops.some((op: any) => op.request !== 'request_range')) {
        throw new GrpcError(grpc.status.PERMISSION_DENIED, READ_ONLY);
      }
      throw new GrpcError(
        grpc.status.UNIMPLEMENTED,
        'kubetime serves reads through Range, not read-only Txn',
      );
    }),
  });
  server.addService(pb.Watch.service, {
    Watch: (call: grpc.ServerDuplexStream<any, any>) => watch(store, branch, call, header, authorize),
  });
  server.addService(pb.Lease.service, {
    LeaseGrant: refuse(),
    LeaseRevoke: refuse(),
    LeaseKeepAlive: (call: grpc.ServerDuplexStream<any, any>) =>
      call.destroy(toServiceError(new GrpcError(grpc.status.PERMISSION_DENIED, READ_ONLY))),
    LeaseLeases: unary(async (_request, head) => ({ header: header(head), leases: [] })),
  });
  server.addService(pb.Cluster.service, {
    MemberList: unary(async (_request, head) => ({
      header: header(head),
      members: [
        {
          ID: ids.member,
          name: `kubetime-${branch}`,
          peerURLs: [],
          clientURLs: [`http://${hostPort(host, port)}`],
          isLearner: false,
        },
      ],
    })),
    MemberAdd: refuse(),
    MemberRemove: refuse(),
    MemberUpdate: refuse(),
    MemberPromote: refuse(),
  });
  server.addService(pb.Maintenance.service, {
    // etcdctl endpoint health reads the alarm list after its probe Get: none are ever raised here.
    Alarm: unary(async (request, head) => {
      if (request.action !== 0) throw new GrpcError(grpc.status.PERMISSION_DENIED, READ_ONLY);
      return { header: header(head), alarms: [] };
    }),
    Status: unary(async (_request, head) => {
      const { rows } = await store.pool.query<{ size: string }>(
        `SELECT pg_total_relation_size('events') AS size`,
      );
      return {
        header: header(head),
        version: ETCD_VERSION,
        dbSize: Number(rows[0].size),
        dbSizeInUse: Number(rows[0].size),
        leader: ids.member,
        raftIndex: head.revision,
        raftTerm: 1,
        raftAppliedIndex: head.revision,
        errors: [],
        isLearner: false,
      };
    }),
    Snapshot: (call: grpc.ServerWritableStream<any, any>) => {
      snapshot(store, branch, call, header, authorize).catch((error) => call.destroy(toServiceError(error)));
    },
    Defragment: refuse(),
    MoveLeader: refuse(),
  });
  server.addService(pb.Auth.service, {
    Authenticate: unary(async (request, head) => {
      if (token === undefined) {
        throw new GrpcError(grpc.status.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled');
      }
      if (!constantTimeEqual(String(request.password ?? ''), token)) {
        throw new GrpcError(
          grpc.status.INVALID_ARGUMENT,
          'etcdserver: authentication failed, invalid user ID or password',
        );
      }
      return { header: header(head), token };
    }, true),
  });

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(hostPort(host, options.port), grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // Watches are long-lived streams: give in-flight calls a moment, then cut what is left.
        const timer = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

type Header = (head: BranchHead, revision?: number) => object;

async function range(store: EventStore, head: BranchHead, request: any, header: Header): Promise<object> {
  const at = request.revision > 0 ? request.revision : head.revision;
  const keys = keyRange(request.key, request.range_end);
  checkRevision(head, at, keys);
  const params: unknown[] = [];
  const live = stateSql(head, at, keys, 'key', params);
  const where: string[] = [];
  for (const [field, column, op] of [
    ['min_mod_revision', 'revision', '>='],
    ['max_mod_revision', 'revision', '<='],
    ['min_create_revision', 'create_revision', '>='],
    ['max_create_revision', 'create_revision', '<='],
  ] as const) {
    if (request[field] > 0) {
      params.push(request[field]);
      where.push(`${column} ${op} $${params.length}`);
    }
  }
  const filtered = `SELECT * FROM (${live}) s${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  const { rows: counted } = await store.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM (${filtered}) c`,
    params,
  );
  const count = Number(counted[0].n);
  if (request.count_only) return { header: header(head), kvs: [], more: false, count };

  const target = ['key', 'version', 'create_revision', 'revision'][request.sort_target];
  if (target === undefined) {
    throw new GrpcError(
      grpc.status.UNIMPLEMENTED,
      'kubetime sorts ranges by key, version, create or mod revision',
    );
  }
  const direction = request.sort_order === 2 ? 'DESC' : 'ASC';
  let sql = `${filtered} ORDER BY ${target} ${direction}, key ${direction}`;
  if (request.limit > 0) {
    params.push(request.limit);
    sql += ` LIMIT $${params.length}`;
  }
  const { rows } = await store.pool.query<RawRow>(sql, params);
  return {
    header: header(head),
    kvs: rows.map((row) => keyValue(row, request.keys_only)),
    more: rows.length < count,
    count,
  };
}

function keyValue(row: RawRow, keysOnly = false): object {
  return {
    key: Buffer.from(row.key, 'utf8'),
    create_revision: Number(row.create_revision),
    mod_revision: Number(row.revision),
    version: row.version,
    value: keysOnly ? Buffer.alloc(0) : etcdValue(row),
    lease: 0,
  };
}

/**
 * etcd's range convention: no range_end is the single key, range_end "\0" is every key from key on,
 * and key "\0" means from the start. Keys never contain NUL, so key + "\x01" is the next key up.
 */
function keyRange(key: Buffer, rangeEnd: Buffer): KeyRange {
  const from = key.length === 1 && key[0] === 0 ? '' : key.toString('utf8');
  if (!rangeEnd.length) return { from, to: `${from}\x01` };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { from };
  return { from, to: rangeEnd.toString('utf8') };
}

function checkRevision(head: BranchHead, revision: number, keys: KeyRange): void {
  if (revision > head.revision) {
    throw new GrpcError(grpc.status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision');
  }
  // Our compact revision's own state is kept (see saveEtcdSnapshot), as etcd keeps its compact revision's.
  // A retention rule's horizon over any key of the range counts as etcd's compaction would.
  if (revision < head.horizonOverlapping(keys.from, keys.to).revision) {
    throw new GrpcError(grpc.status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');
  }
}

/** One bidirectional Watch stream: any number of watchers, created and cancelled by request. */
function watch(
  store: EventStore,
  branch: string,
  call: grpc.ServerDuplexStream<any, any>,
  header: Header,
  authorize: (call: Call) => void,
): void {
  try {
    authorize(call);
  } catch (error) {
    call.destroy(toServiceError(error));
    return;
  }
  const watchers = new Map<number, Subscription>();
  let nextId = 0;
  const send = (message: object) => {
    if (!call.destroyed && call.writable) call.write(message);
  };

  call.on('data', (request: any) => {
    void store.branch(branch).then(
      (head) => {
        if (request.create_request) create(head, request.create_request);
        else if (request.cancel_request) {
          const id = Number(request.cancel_request.watch_id);
          watchers.get(id)?.unsubscribe();
          watchers.delete(id);
          send({ header: header(head), watch_id: id, canceled: true });
        } else if (request.progress_request) {
          send({ header: header(head), watch_id: -1 });
        }
      },
      (error) => call.destroy(toServiceError(error)),
    );
  });
  const stop = () => {
    for (const s of watchers.values()) s.unsubscribe();
    watchers.clear();
  };
  call.on('end', () => {
    stop();
    call.end();
  });
  call.on('cancelled', stop);
  call.on('error', stop);

  function create(head: BranchHead, req: any): void {
    const id = req.watch_id > 0 ? Number(req.watch_id) : nextId++;
    if (watchers.has(id)) {
      send({
        header: header(head),
        watch_id: id,
        created: true,
        canceled: true,
        cancel_reason: 'etcdserver: duplicate watch ID',
      });
      return;
    }
    const bounds = byteRange(req.key, req.range_end);
    const noPut = (req.filters ?? []).includes(0);
    const noDelete = (req.filters ?? []).includes(1);
    const from = req.start_revision > 0 ? req.start_revision - 1 : head.revision;
    send({ header: header(head), watch_id: id, created: true });
    const keys = keyRange(req.key, req.range_end);
    const horizon = head.horizonOverlapping(keys.from, keys.to);
    const subscription = (
      from < horizon.revision
        ? throwError(() => new RevisionCompacted(from, horizon.revision, horizon.keyPrefix))
        : store.watch(branch, from)
    )
      .pipe(
        filter((e) => bounds(Buffer.from(e.key, 'utf8'))),
        filter((e) => !(e.type === 'DELETED' ? noDelete : noPut)),
        concatMap((e) => watchEvent(store, head, e, req.prev_kv)),
      )
      .subscribe({
        next: (event) => send({ header: header(head, event.kv.mod_revision), watch_id: id, events: [event] }),
        error: (error) => {
          watchers.delete(id);
          if (error instanceof RevisionCompacted) {
            send({
              header: header(head),
              watch_id: id,
              canceled: true,
              compact_revision: error.compacted,
              cancel_reason: 'etcdserver: mvcc: required revision has been compacted',
            });
          } else {
            send({
              header: header(head),
              watch_id: id,
              canceled: true,
              cancel_reason: String((error as Error).message),
            });
          }
        },
        complete: () => {
          // The branch was deleted: the watcher ends as etcd ends watchers it cannot serve.
          watchers.delete(id);
          send({
            header: header(head),
            watch_id: id,
            canceled: true,
            cancel_reason: 'etcdserver: the branch is gone',
          });
        },
      });
    watchers.set(id, subscription);
  }
}

/** The matcher for an etcd key range on raw key bytes (byte order, as etcd compares keys). */
function byteRange(key: Buffer, rangeEnd: Buffer): (k: Buffer) => boolean {
  const all = key.length === 1 && key[0] === 0;
  if (!rangeEnd.length) return (k) => k.equals(key);
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return (k) => all || Buffer.compare(k, key) >= 0;
  return (k) => (all || Buffer.compare(k, key) >= 0) && Buffer.compare(k, rangeEnd) < 0;
}

async function watchEvent(store: EventStore, head: BranchHead, e: StoredEvent, prevKv: boolean) {
  const { rows } = await store.pool.query<RawRow>(
    `SELECT ${RAW_COLUMNS} FROM events WHERE branch_id = $1 AND revision = $2`,
    [e.branchId, e.revision],
  );
  const row = rows[0];
  const kv =
    e.type === 'DELETED'
      ? {
          key: Buffer.from(e.key, 'utf8'),
          create_revision: 0,
          mod_revision: e.revision,
          version: 0,
          value: Buffer.alloc(0),
          lease: 0,
        }
      : (keyValue(row) as { mod_revision: number });
  let prev: object | undefined;
  if (prevKv && e.prevRevision > 0) {
    const { rows: before } = await store.pool.query<RawRow>(
      `SELECT ${RAW_COLUMNS} FROM events WHERE key = $1 AND revision = $2 AND branch_id = ANY($3::int[])`,
      [e.key, e.prevRevision, head.lineage.map((s) => s.branchId)],
    );
    if (before[0]) prev = keyValue(before[0]);
  }
  return {
    type: e.type === 'DELETED' ? 1 : 0,
    kv: kv as { mod_revision: number },
    ...(prev ? { prev_kv: prev } : {}),
  };
}

/** Streams the same file `saveEtcdSnapshot` writes (state plus history above the compaction point). */
async function snapshot(
  store: EventStore,
  branch: string,
  call: grpc.ServerWritableStream<any, any>,
  header: Header,
  authorize: (call: Call) => void,
): Promise<void> {
  authorize(call);
  const path = join(tmpdir(), `kubetime-etcd-snapshot-${randomBytes(8).toString('hex')}.db`);
  try {
    const saved = await saveEtcdSnapshot(store, { branch, path, history: true });
    const head = await store.branch(branch);
    const fh = await open(path, 'r');
    try {
      const chunk = Buffer.alloc(SNAPSHOT_CHUNK);
      let sent = 0;
      // Bounded by the file size: each pass sends the next chunk.
      while (sent < saved.bytes && !call.cancelled) {
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, sent);
        if (bytesRead === 0) throw new Error('the snapshot file ended early');
        sent += bytesRead;
        const more = call.write({
          header: header(head, saved.revision),
          remaining_bytes: saved.bytes - sent,
          blob: Buffer.from(chunk.subarray(0, bytesRead)),
        });
        if (!more) {
          await new Promise((resolve) => {
            call.once('drain', resolve);
            call.once('cancelled', resolve);
          });
        }
      }
    } finally {
      await fh.close();
    }
    call.end();
  } finally {
    await rm(path, { force: true });
  }
}

function toServiceError(error: unknown): grpc.ServiceError {
  let code = grpc.status.INTERNAL;
  let message = (error as Error)?.message ?? String(error);
  if (error instanceof GrpcError) code = error.code;
  else if (error instanceof RevisionCompacted) {
    code = grpc.status.OUT_OF_RANGE;
    message = 'etcdserver: mvcc: required revision has been compacted';
  }
  // etcd clients recognise errors by these exact messages (rpctypes), so they go out as the details.
  return Object.assign(new Error(message), { code, details: message, metadata: new grpc.Metadata() });
}

/** Stable per database and branch, and below 2^53 so they survive as JS numbers. */
function clusterIds(store: EventStore, branch: string): { cluster: number; member: number } {
  const params = store.pool.options as { connectionString?: string; database?: string };
  const digest = createHash('sha256')
    .update(`${params.database ?? params.connectionString ?? ''}\0${branch}`)
    .digest();
  return { cluster: digest.readUIntBE(0, 6), member: digest.readUIntBE(6, 6) };
}

function constantTimeEqual(a: string, b: string): boolean {
  // Digests first: equal lengths for timingSafeEqual, and nothing about the token's length leaks.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
