import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/** Chunk size for hashing a file in a stream: big enough for throughput, small enough to keep memory flat. */
const HASH_CHUNK = 1 << 20;

export async function writeFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/** Reads exactly `length` bytes at `position`; returns how many were there if the file is shorter. */
export async function readAt(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** sha256 of the first `length` bytes, read in chunks. */
export async function sha256Prefix(fh: FileHandle, length: number): Promise<Buffer> {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(Math.min(HASH_CHUNK, Math.max(length, 1)));
  for (let at = 0; at < length;) {
    const want = Math.min(chunk.length, length - at);
    const got = await readAt(fh, chunk, want, at);
    if (got < want) throw new Error(`the file ended at ${at + got} bytes while hashing ${length}`);
    hash.update(chunk.subarray(0, got));
    at += got;
  }
  return hash.digest();
}
