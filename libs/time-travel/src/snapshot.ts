import { createHash } from 'crypto';
import { once } from 'events';
import { createGzip } from 'zlib';
import {
  findResourceType,
  findResourceTypeByKind,
  storageKey,
  storageTypeOf,
  type KubeObject,
  type ResourceType,
} from '@kubetime/api-machinery';
import type { RequestContext } from '@kubetime/apiserver';
import { TimeTravelContext, type StateItem } from './context';
import { invalid, Params } from './params';
import { RpcCodes, RpcError } from './rpc';
import type { Session, Stream } from './session';
import {
  InvalidSnapshot,
  NATIVE_FORMAT,
  readSnapshot,
  SnapshotEntry,
  SnapshotHeader,
  SnapshotLineWriter,
} from './snapshot-format';
import { ETCD_FORMAT, EtcdSnapshotMethods, EtcdUpload, MAX_ETCD_UPLOAD } from './snapshot-etcd';
import { MAX_STREAMS } from './watch';

const DEFAULT_CHUNK = 256 * 1024;
const MAX_CHUNK = 2 * 1024 * 1024;
const ROW_BATCH = 500;
const MAX_UPLOAD = 512 * 1024 * 1024;
const MAX_UNCOMPRESSED = 2 * 1024 * 1024 * 1024 - 1;
const WRITE_BATCH = 200;
export const RESTORE_ACTOR = 'kubetime:snapshot-restore';

class Transfer implements Stream {
  cancelled = false;
  readonly chunks: Buffer[] = [];
  received = 0;
  nextSeq = 0;

  constructor(
    readonly id: string,
    readonly kind: 'snapshot.save' | 'snapshot.restore',
    readonly branch: string,
  ) {}

  close(): void {
    this.cancelled = true;
    this.chunks.length = 0;
  }
}

/**
 * snapshot.save streams a native snapshot of the state at a revision to the client in base64 chunks;
 * snapshot.restore / upload / commit take one back and create a branch with that state, written
 * through the API's write path by the snapshot-restore actor so the restore is part of history.
 * `format: "etcd"` moves etcd v3 snapshot files instead, through the same messages (snapshot-etcd.ts).
 */
export class SnapshotMethods {
  private readonly etcd: EtcdSnapshotMethods;

  constructor(private readonly ctx: TimeTravelContext) {
    this.etcd = new EtcdSnapshotMethods(ctx);
  }

  async save(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    const format = this.format(params);
    const chunkBytes = params.optionalInteger('chunkBytes', 1024, MAX_CHUNK) ?? DEFAULT_CHUNK;
    if (format === ETCD_FORMAT) return this.etcd.save(params, session, chunkBytes);
    const point = await this.ctx.point(params);
    const { items: state, incomplete } = await this.ctx.state(point);
    // A snapshot restores as a whole cluster and has no way to say that a resource is missing.
    if (incomplete.length) throw compactedByRetention(point.revision, incomplete);
    const [recorded] =
      point.revision > 1
        ? await this.ctx.events.events(point.branch, point.revision - 1, point.revision, 1)
        : [];
    const header: SnapshotHeader = {
      type: 'header',
      format: NATIVE_FORMAT,
      source: point,
      time: recorded?.recordedAt.toISOString() ?? null,
      createdAt: this.ctx.now().toISOString(),
      objects: state.length,
    };
    const transfer = new Transfer(session.nextId('snapshot'), 'snapshot.save', point.branch);
    session.add(transfer, MAX_STREAMS);
    session.defer(() => {
      this.stream(session, transfer, header, state, chunkBytes)
        .catch((error) =>
          session.sink.send('snapshot.error', {
            transfer: transfer.id,
            code: RpcCodes.InternalError,
            message: (error as Error).message,
          }),
        )
        .finally(() => session.remove(transfer.id));
    });
    return { transfer: transfer.id, header };
  }

  async restore(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    await this.ctx.requireWrite(session, 'snapshot.restore');
    const format = this.format(params);
    const branch = params.string('branch');
    if (format === ETCD_FORMAT) {
      const upload = this.etcd.open(params, session, branch);
      return { upload: upload.id, branch, format, maxBytes: MAX_ETCD_UPLOAD };
    }
    const transfer = new Transfer(session.nextId('upload'), 'snapshot.restore', branch);
    session.add(transfer, MAX_STREAMS);
    return { upload: transfer.id, branch, maxBytes: MAX_UPLOAD };
  }

  async upload(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    const transfer = this.upload_(params, session);
    const seq = params.integer('seq', 0);
    if (seq !== transfer.nextSeq) throw invalid(`seq ${seq} is out of order: expected ${transfer.nextSeq}`);
    const data = params.string('data');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw invalid('data must be base64');
    const bytes = Buffer.from(data, 'base64');
    if (transfer instanceof EtcdUpload) {
      await transfer.append(bytes);
      return { upload: transfer.id, received: transfer.received };
    }
    if (transfer.received + bytes.length > MAX_UPLOAD)
      throw invalid(`the upload exceeds ${MAX_UPLOAD} bytes`);
    transfer.chunks.push(bytes);
    transfer.received += bytes.length;
    transfer.nextSeq++;
    return { upload: transfer.id, received: transfer.received };
  }

  async abort(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const transfer = this.upload_(new Params(raw), session);
    transfer.close();
    session.remove(transfer.id);
    return { upload: transfer.id, aborted: true };
  }

  /** Verifies the whole upload, then creates the branch and writes every object. */
  async commit(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    const transfer = this.upload_(params, session);
    session.remove(transfer.id);
    if (transfer instanceof EtcdUpload)
      return this.etcd.commit(transfer, params.optionalString('sha256'), session);
    const file = Buffer.concat(transfer.chunks);
    transfer.close();
    const expected = params.optionalString('sha256');
    const actual = createHash('sha256').update(file).digest('hex');
    if (expected && expected !== actual)
      throw new RpcError(
        RpcCodes.InvalidSnapshot,
        `invalid snapshot: the upload's sha256 is ${actual}, not ${expected}; nothing was written`,
      );
    const { header, entries } = this.verify(file);
    const objects = entries.map((entry, i) => this.decode(entry, i));

    // The empty cluster: main before its first write. The restored objects are the branch's history.
    await this.ctx.events.branches.fork(transfer.branch, 'main', 1, 'wall');
    const ctx: RequestContext = {
      user: { username: RESTORE_ACTOR, groups: ['system:masters'] },
      branch: transfer.branch,
      now: this.ctx.now(),
      requestId: transfer.id,
    };
    try {
      for (let i = 0; i < objects.length; i += WRITE_BATCH) {
        // Concurrent appends share transactions (the event store's group commit).
        await Promise.all(
          objects
            .slice(i, i + WRITE_BATCH)
            .map(({ type, object }) =>
              this.ctx.resources.appendWrite(ctx, type, object, 'ADDED', 0, 'restore'),
            ),
        );
        await session.sink.send('snapshot.progress', {
          transfer: transfer.id,
          phase: 'write',
          objects: Math.min(i + WRITE_BATCH, objects.length),
          total: objects.length,
        });
      }
    } catch (error) {
      // Half a restore is worse than none: the branch goes (deletion keeps what was written).
      await this.ctx.events.deleteBranch(transfer.branch).catch(() => undefined);
      throw error;
    }
    const head = await this.ctx.events.branch(transfer.branch);
    // A restored branch is a live cluster like a forked one: its controllers start now, not at the next server start.
    await this.ctx.branchControllers?.start(await this.ctx.events.branches.get(transfer.branch));
    return {
      branch: transfer.branch,
      revision: head.revision,
      objects: objects.length,
      source: header.source,
      sourceTime: header.time,
      sha256: actual,
    };
  }

  private async stream(
    session: Session,
    transfer: Transfer,
    header: SnapshotHeader,
    state: StateItem[],
    chunkBytes: number,
  ): Promise<void> {
    const gzip = createGzip();
    const lines = new SnapshotLineWriter();
    const fileHash = createHash('sha256');
    let bytes = 0;
    let seq = 0;
    let written = 0;

    const produce = async () => {
      const write = async (data: Buffer) => {
        if (!gzip.write(data)) await once(gzip, 'drain');
      };
      await write(lines.header(header));
      for (let i = 0; i < state.length && !transfer.cancelled; i += ROW_BATCH) {
        const batch = state.slice(i, i + ROW_BATCH);
        const rows = new Map(
          (await this.ctx.log.storedRows(batch)).map((r) => [`${r.branchId}:${r.revision}`, r]),
        );
        for (const item of batch) {
          const row = rows.get(`${item.branchId}:${item.revision}`);
          if (!row)
            throw new Error(
              `the event holding ${item.key} at revision ${item.revision} is gone (compacted while saving?)`,
            );
          const object = item.object;
          const type = storedType(item.key, object);
          const entry: SnapshotEntry = {
            type: 'object',
            key: item.key,
            group: type.group,
            version: type.version,
            resource: type.resource,
            kind: type.kind,
            namespace: object.metadata.namespace ?? null,
            name: object.metadata.name ?? '',
          };
          if (row.sealed) entry.sealed = row.sealed.toString('base64');
          else entry.object = row.object!;
          await write(lines.entry(entry));
          written++;
        }
      }
      gzip.end(lines.trailer());
    };

    const send = async (chunk: Buffer) => {
      fileHash.update(chunk);
      bytes += chunk.length;
      await session.sink.send('snapshot.chunk', {
        transfer: transfer.id,
        seq: seq++,
        data: chunk.toString('base64'),
      });
      await session.sink.send('snapshot.progress', {
        transfer: transfer.id,
        phase: 'save',
        objects: written,
        total: header.objects,
        bytes,
      });
    };
    const consume = async () => {
      let pending = Buffer.alloc(0);
      for await (const data of gzip) {
        if (transfer.cancelled) return;
        pending = Buffer.concat([pending, data as Buffer]);
        while (pending.length >= chunkBytes) {
          await send(pending.subarray(0, chunkBytes));
          pending = pending.subarray(chunkBytes);
        }
      }
      if (pending.length) await send(pending);
    };

    await Promise.all([produce().catch((error) => gzip.destroy(error)), consume()]);
    if (transfer.cancelled) return;
    await session.sink.send('snapshot.done', {
      transfer: transfer.id,
      chunks: seq,
      bytes,
      objects: written,
      sha256: fileHash.digest('hex'),
    });
  }

  private verify(file: Buffer): ReturnType<typeof readSnapshot> {
    try {
      return readSnapshot(file, MAX_UNCOMPRESSED);
    } catch (error) {
      if (error instanceof InvalidSnapshot) throw new RpcError(RpcCodes.InvalidSnapshot, error.message);
      throw error;
    }
  }

  /** The entry's resource type and plaintext object; sealed bodies are opened now, so a missing key fails before any write. */
  private decode(entry: SnapshotEntry, index: number): { type: ResourceType; object: KubeObject } {
    const line = index + 2;
    const found = findResourceType(entry.group, entry.version, entry.resource);
    if (!found || storageTypeOf(found) !== found) {
      throw new RpcError(
        RpcCodes.InvalidSnapshot,
        `invalid snapshot: line ${line}: ${entry.group}/${entry.version} ${entry.resource} is not a storage type this server knows; nothing was written`,
      );
    }
    let object: KubeObject;
    try {
      object =
        entry.object ??
        (JSON.parse(
          this.ctx.events.bodies.open(Buffer.from(entry.sealed!, 'base64'), entry.key).toString('utf8'),
        ) as KubeObject);
    } catch (error) {
      throw new RpcError(
        RpcCodes.InvalidSnapshot,
        `invalid snapshot: line ${line} (${entry.key}): ${(error as Error).message}; nothing was written`,
      );
    }
    const key = storageKey(found, object.metadata?.namespace, object.metadata?.name ?? '');
    if (key !== entry.key)
      throw new RpcError(
        RpcCodes.InvalidSnapshot,
        `invalid snapshot: line ${line}: the object belongs at ${key}, not ${entry.key}; nothing was written`,
      );
    return { type: found, object };
  }

  private upload_(params: Params, session: Session): Transfer | EtcdUpload {
    const id = params.string('upload');
    const transfer = session.get<Transfer | EtcdUpload>(id, 'snapshot.restore');
    if (!transfer) throw invalid(`no snapshot upload "${id}" on this connection`);
    return transfer;
  }

  private format(params: Params): 'native' | typeof ETCD_FORMAT {
    const format = params.optionalString('format') ?? 'native';
    if (format !== 'native' && format !== ETCD_FORMAT) throw invalid('format must be "native" or "etcd"');
    return format;
  }
}

/** Objects are stored in their storage version, so apiVersion and kind name the storage type. */
function storedType(key: string, object: KubeObject): ResourceType {
  const type = findResourceTypeByKind(object.apiVersion ?? '', object.kind ?? '');
  if (!type) throw new Error(`${key}: ${object.apiVersion} ${object.kind} is not a type this server knows`);
  return storageTypeOf(type);
}

/** A whole-cluster file of a revision below a retention horizon would silently lack those objects. */
export function compactedByRetention(
  revision: number,
  incomplete: { resource: string; oldestAvailable: number }[],
): RpcError {
  const oldest = Math.max(...incomplete.map((i) => i.oldestAvailable));
  return new RpcError(
    RpcCodes.Gone,
    `revision ${revision} cannot be saved whole: retention compacted ${incomplete
      .map((i) => `${i.resource} (oldest available: ${i.oldestAvailable})`)
      .join(', ')}; save revision ${oldest} or later`,
    { oldestAvailable: oldest, incomplete },
  );
}
