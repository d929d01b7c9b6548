import { createHash, randomBytes, type Hash } from 'crypto';
import { open, rm, type FileHandle } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  restoreEtcdSnapshot,
  RestoreRefused,
  saveEtcdSnapshot,
  type RestoreEtcdSnapshotResult,
} from '@kubetime/etcd-compat';
import { SnapshotFormatError } from '@kubetime/etcd-snapshot';
import { TimeTravelContext } from './context';
import { invalid, Params } from './params';
import { RpcCodes, RpcError } from './rpc';
import type { Session, Stream } from './session';
import { MAX_STREAMS } from './watch';

/** The `format` value and the header's name for etcd v3 snapshot files (what `etcdctl snapshot save` writes). */
export const ETCD_FORMAT = 'etcd';
const ETCD_FILE_FORMAT = 'etcd-v3-snapshot';
/**
 * Uploads go to a temp file, not memory, so the bound is disk, not heap: a large cluster's etcd
 * snapshot runs to gigabytes.
 */
export const MAX_ETCD_UPLOAD = 8 * 1024 * 1024 * 1024;

/** A file the server writes or receives, removed whatever way the transfer ends. */
class TempFile {
  readonly path = join(tmpdir(), `kubetime-etcd-${randomBytes(8).toString('hex')}.db`);
  private removed?: Promise<void>;

  remove(): Promise<void> {
    return (this.removed ??= rm(this.path, { force: true }));
  }
}

class EtcdDownload implements Stream {
  readonly kind = 'snapshot.save';
  cancelled = false;

  constructor(
    readonly id: string,
    readonly file: TempFile,
  ) {}

  close(): void {
    this.cancelled = true;
    void this.file.remove();
  }
}

/** An etcd-format upload: chunks appended to a temp file as they arrive, hashed on the way. */
export class EtcdUpload implements Stream {
  readonly kind = 'snapshot.restore';
  readonly file = new TempFile();
  readonly hash: Hash = createHash('sha256');
  received = 0;
  nextSeq = 0;
  private handle?: Promise<FileHandle>;

  constructor(
    readonly id: string,
    readonly branch: string,
    readonly options: { allowUnimported: boolean; bumpRevision?: number; markCompacted: boolean },
  ) {}

  async append(bytes: Buffer): Promise<void> {
    if (this.received + bytes.length > MAX_ETCD_UPLOAD)
      throw invalid(`the upload exceeds ${MAX_ETCD_UPLOAD} bytes`);
    const fh = await (this.handle ??= open(this.file.path, 'wx', 0o600));
    await fh.writeFile(bytes);
    this.hash.update(bytes);
    this.received += bytes.length;
    this.nextSeq++;
  }

  /** Flushes and closes the file; it stays on disk for the restore. */
  async finish(): Promise<void> {
    // An empty upload still needs a file, so the reader can say what is wrong with it.
    const fh = await (this.handle ??= open(this.file.path, 'wx', 0o600));
    this.handle = undefined;
    await fh.close();
  }

  close(): void {
    const handle = this.handle;
    this.handle = undefined;
    void (handle ? handle.then((fh) => fh.close()).catch(() => undefined) : Promise.resolve()).then(() =>
      this.file.remove(),
    );
  }
}

/**
 * snapshot.save / restore with `format: "etcd"`: the bbolt files `etcdctl snapshot save` writes and
 * `etcdctl snapshot restore` reads, made and read by libs/etcd-compat. The file goes through a temp
 * file on the server in both directions, because bbolt is written and read by page offset, not as a
 * stream; that keeps memory flat in the snapshot's size.
 */
export class EtcdSnapshotMethods {
  constructor(private readonly ctx: TimeTravelContext) {}

  async save(params: Params, session: Session, chunkBytes: number): Promise<unknown> {
    // `revision` or `time`, checked as for the native format.
    const { branch, revision } = await this.ctx.point(params);
    const history = params.boolean('history');
    const file = new TempFile();
    let saved;
    try {
      // Written before answering, so a failure is this request's error, not a broken stream.
      saved = await saveEtcdSnapshot(this.ctx.events, { branch, revision, path: file.path, history });
    } catch (error) {
      await file.remove();
      throw error;
    }
    const header = {
      format: ETCD_FILE_FORMAT,
      source: { branch, revision: saved.revision },
      compactRevision: saved.compactRevision,
      history,
      keys: saved.keys,
      bytes: saved.bytes,
      createdAt: this.ctx.now().toISOString(),
    };
    const transfer = new EtcdDownload(session.nextId('snapshot'), file);
    try {
      session.add(transfer, MAX_STREAMS);
    } catch (error) {
      await file.remove();
      throw error;
    }
    session.defer(() => {
      this.stream(session, transfer, saved.bytes, saved.keys, chunkBytes)
        .catch((error) =>
          session.sink.send('snapshot.error', {
            transfer: transfer.id,
            code: RpcCodes.InternalError,
            message: (error as Error).message,
          }),
        )
        .finally(() => {
          session.remove(transfer.id);
          void file.remove();
        });
    });
    return { transfer: transfer.id, header };
  }

  open(params: Params, session: Session, branch: string): EtcdUpload {
    const bumpRevision = params.optionalInteger('bumpRevision', 1);
    const markCompacted = params.boolean('markCompacted');
    if (markCompacted && bumpRevision === undefined)
      // As etcdutl: marking compacted without a bump would declare revisions clients hold current.
      throw invalid(`${params.field('markCompacted')} needs ${params.field('bumpRevision')}`);
    const upload = new EtcdUpload(session.nextId('upload'), branch, {
      allowUnimported: params.boolean('allowUnimported'),
      ...(bumpRevision === undefined ? {} : { bumpRevision }),
      markCompacted,
    });
    session.add(upload, MAX_STREAMS);
    return upload;
  }

  /** Checks the upload's sha256, then restores the file in one transaction that a damaged or refused file rolls back. */
  async commit(upload: EtcdUpload, expected: string | undefined, session: Session): Promise<unknown> {
    try {
      await upload.finish();
      const actual = upload.hash.digest('hex');
      if (expected && expected !== actual)
        throw new RpcError(
          RpcCodes.InvalidSnapshot,
          `invalid snapshot: the upload's sha256 is ${actual}, not ${expected}; nothing was written`,
        );
      let result: RestoreEtcdSnapshotResult;
      try {
        result = await restoreEtcdSnapshot(this.ctx.events, {
          path: upload.file.path,
          branch: upload.branch,
          ...upload.options,
          onProgress: (p) =>
            session.sink.send('snapshot.progress', {
              transfer: upload.id,
              phase: p.phase,
              events: p.events,
              total: p.total,
            }),
        });
      } catch (error) {
        throw refusal(error) ?? error;
      }
      // A restored branch is a live cluster like a forked one (main's control plane is the server's own).
      if (upload.branch !== 'main')
        await this.ctx.branchControllers?.start(await this.ctx.events.branches.get(upload.branch));
      return { ...result, format: ETCD_FILE_FORMAT, bytes: upload.received, sha256: actual };
    } finally {
      await upload.file.remove();
    }
  }

  private async stream(
    session: Session,
    transfer: EtcdDownload,
    size: number,
    keys: number,
    chunkBytes: number,
  ): Promise<void> {
    const fileHash = createHash('sha256');
    const fh = await open(transfer.file.path, 'r');
    let sent = 0;
    let seq = 0;
    try {
      // Bounded by the file size: each pass sends the next chunk, or stops when the client has gone.
      while (sent < size && !transfer.cancelled) {
        const chunk = Buffer.alloc(Math.min(chunkBytes, size - sent));
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, sent);
        if (bytesRead === 0) throw new Error('the snapshot file ended early');
        const data = chunk.subarray(0, bytesRead);
        fileHash.update(data);
        sent += bytesRead;
        await session.sink.send('snapshot.chunk', {
          transfer: transfer.id,
          seq: seq++,
          data: data.toString('base64'),
        });
        await session.sink.send('snapshot.progress', {
          transfer: transfer.id,
          phase: 'save',
          bytes: sent,
          totalBytes: size,
        });
      }
    } finally {
      await fh.close();
    }
    if (transfer.cancelled) return;
    await session.sink.send('snapshot.done', {
      transfer: transfer.id,
      chunks: seq,
      bytes: sent,
      keys,
      sha256: fileHash.digest('hex'),
    });
  }
}

/**
 * The file's own problems as the API's "invalid snapshot", with the precise message the library gives
 * (bad magic, checksum, page size, truncation...) and, for values that cannot become objects, the list.
 */
function refusal(error: unknown): RpcError | undefined {
  if (error instanceof SnapshotFormatError)
    return new RpcError(RpcCodes.InvalidSnapshot, `invalid snapshot: ${error.message}; nothing was written`, {
      reason: 'SnapshotFormatError',
    });
  if (error instanceof RestoreRefused)
    return new RpcError(RpcCodes.InvalidSnapshot, `${error.message}; nothing was written`, {
      reason: 'RestoreRefused',
      unimported: error.unimported,
    });
  return undefined;
}
