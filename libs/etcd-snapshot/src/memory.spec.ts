import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readEtcdSnapshot, writeEtcdSnapshot } from './index';
import type { EtcdEvent } from './types';
import { tempDir } from './spec-fixtures';

const KEYS = 100_000;
const MB = 1 << 20;
const SHARED = Buffer.alloc(1024, 7);

function* manyPuts(): Generator<EtcdEvent> {
  for (let i = 0; i < KEYS; i++) {
    const revision = i + 2;
    const value = SHARED;
    yield {
      key: Buffer.from(`/registry/configmaps/bulk/cm-${i}`),
      revision,
      type: 'put',
      value,
      createRevision: revision,
      version: 1,
    };
  }
}

/** Runs `work` while sampling RSS; returns the peak growth over the RSS at the start. */
async function rssGrowth(work: () => Promise<void>): Promise<number> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - start;
}

describe('memory stays flat in the snapshot size', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it(`writes and reads back ${KEYS} keys of 1 KB`, async () => {
    const path = join(dir, 'bulk.db');
    let t = Date.now();
    const writeGrowth = await rssGrowth(async () => {
      const res = await writeEtcdSnapshot(path, manyPuts(), { revision: KEYS + 1 });
      expect(res.keys).toBe(KEYS);
    });
    const writeMs = Date.now() - t;
    const size = (await stat(path)).size;

    t = Date.now();
    let count = 0;
    const readGrowth = await rssGrowth(async () => {
      for await (const e of readEtcdSnapshot(path).events()) {
        if (e.revision !== count + 2) throw new Error(`event ${count} has revision ${e.revision}`);
        count++;
      }
    });
    const readMs = Date.now() - t;

    console.log(
      `etcd-snapshot memory: ${(size / MB).toFixed(0)} MB file with ${KEYS} keys; ` +
        `write ${writeMs} ms, RSS +${(writeGrowth / MB).toFixed(1)} MB; ` +
        `read ${readMs} ms, RSS +${(readGrowth / MB).toFixed(1)} MB`,
    );
    expect(count).toBe(KEYS);
    // Holding the file would take more than its size; the streaming paths stay well under half of it.
    expect(writeGrowth).toBeLessThan(size / 2);
    expect(readGrowth).toBeLessThan(size / 2);
  });
});
