import { createHash } from 'crypto';
import { gunzipSync } from 'zlib';
import type { KubeObject } from '@kubetime/api-machinery';

/**
 * The native snapshot format: gzip of JSON lines.
 *
 *   {"type":"header","format":"kubetime-snapshot/v1","source":{"branch":"main","revision":42},"time":...,"objects":N}
 *   {"type":"object","key":"/registry/...","group":"apps","version":"v1","resource":"deployments",...,"object":{...}}
 *   {"type":"object",...,"sealed":"<base64 of k8s:enc:aesgcm:v1:key1:...>"}
 *   {"type":"trailer","objects":N,"sha256":"<hex of every byte before this line>"}
 *
 * Bodies are written as the log stores them: plain objects as JSON, encrypted ones (Secrets) as the
 * sealed bytes with their provider and key id, so a snapshot never holds a Secret in plaintext.
 * The trailer's checksum covers the uncompressed lines, so a truncated file (no trailer, or a gzip
 * stream that ends early) and an edited one are both refused before anything is written.
 */
export const NATIVE_FORMAT = 'kubetime-snapshot/v1';

export interface SnapshotHeader {
  type: 'header';
  format: string;
  source: { branch: string; revision: number };
  /** When the source revision was recorded. */
  time: string | null;
  createdAt: string;
  objects: number;
}

export interface SnapshotEntry {
  type: 'object';
  key: string;
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespace: string | null;
  name: string;
  object?: KubeObject;
  sealed?: string;
}

export interface SnapshotTrailer {
  type: 'trailer';
  objects: number;
  sha256: string;
}

/** Serializes lines while hashing them, for the trailer. */
export class SnapshotLineWriter {
  private readonly hash = createHash('sha256');
  private count = 0;

  header(header: SnapshotHeader): Buffer {
    return this.line(header);
  }

  entry(entry: SnapshotEntry): Buffer {
    this.count++;
    return this.line(entry);
  }

  trailer(): Buffer {
    const trailer: SnapshotTrailer = {
      type: 'trailer',
      objects: this.count,
      sha256: this.hash.digest('hex'),
    };
    return Buffer.from(JSON.stringify(trailer) + '\n');
  }

  private line(value: unknown): Buffer {
    const bytes = Buffer.from(JSON.stringify(value) + '\n');
    this.hash.update(bytes);
    return bytes;
  }
}

export class InvalidSnapshot extends Error {
  constructor(message: string) {
    super(`invalid snapshot: ${message}; nothing was written`);
    this.name = 'InvalidSnapshot';
  }
}

/** Decompresses and checks a whole file: format, checksum, object count, every line's shape. */
export function readSnapshot(
  file: Buffer,
  maxUncompressed: number,
): { header: SnapshotHeader; entries: SnapshotEntry[] } {
  let text: string;
  try {
    text = gunzipSync(file, { maxOutputLength: maxUncompressed }).toString('utf8');
  } catch (error) {
    const reason =
      (error as { code?: string }).code === 'Z_BUF_ERROR'
        ? 'the file is truncated'
        : `not a readable gzip stream (${(error as Error).message})`;
    throw new InvalidSnapshot(reason);
  }
  if (!text.endsWith('\n')) throw new InvalidSnapshot('the file is truncated (no final newline)');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 2) throw new InvalidSnapshot('the file is truncated (no header and trailer)');
  const parse = (line: string, index: number): Record<string, any> => {
    try {
      const value = JSON.parse(line);
      if (value && typeof value === 'object' && !Array.isArray(value)) return value;
    } catch {
      // reported below
    }
    throw new InvalidSnapshot(`line ${index + 1} is not a JSON object`);
  };
  const header = parse(lines[0], 0) as SnapshotHeader;
  if (header.type !== 'header' || header.format !== NATIVE_FORMAT) {
    throw new InvalidSnapshot(
      `not a ${NATIVE_FORMAT} file (header format ${JSON.stringify(header.format ?? null)})`,
    );
  }
  const trailer = parse(lines[lines.length - 1], lines.length - 1) as SnapshotTrailer;
  if (trailer.type !== 'trailer') throw new InvalidSnapshot('the file is truncated (no trailer)');
  const body = text.slice(0, text.length - lines[lines.length - 1].length - 1);
  const digest = createHash('sha256').update(body, 'utf8').digest('hex');
  if (digest !== trailer.sha256)
    throw new InvalidSnapshot(
      `checksum mismatch (trailer ${trailer.sha256}, content ${digest}): the file was modified`,
    );
  const entries = lines.slice(1, -1).map((line, i) => checkEntry(parse(line, i + 1), i + 2));
  if (entries.length !== trailer.objects || entries.length !== header.objects) {
    throw new InvalidSnapshot(
      `object count mismatch (header ${header.objects}, trailer ${trailer.objects}, file ${entries.length})`,
    );
  }
  return { header, entries };
}

function checkEntry(value: Record<string, any>, line: number): SnapshotEntry {
  const strings = ['key', 'version', 'resource', 'kind', 'name'];
  const ok =
    value.type === 'object' &&
    strings.every((f) => typeof value[f] === 'string' && value[f]) &&
    typeof value.group === 'string' &&
    (value.namespace === null || typeof value.namespace === 'string') &&
    (typeof value.sealed === 'string') !==
      (value.object !== undefined && typeof value.object === 'object' && value.object !== null);
  if (!ok) throw new InvalidSnapshot(`line ${line} is not a valid object entry`);
  return value as SnapshotEntry;
}
