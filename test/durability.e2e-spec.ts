import { Client } from 'pg';
import { startServer, stopServer, TestServer } from './support/server';
import type { TestDatabase } from './support/database';
import { call } from './support/http';

describe('durability: SIGKILL under load', () => {
  let server: TestServer & { database: TestDatabase };

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    if (server) await stopServer(server);
  });

  it('loses no acknowledged write and leaves no partial event', async () => {
    const acknowledged: string[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop && i < 2000; i++) {
        const name = `w${w}-${i}`;
        try {
          const res = await call(server, 'POST', '/api/v1/namespaces/default/configmaps', {
            body: JSON.stringify({
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name },
              data: { payload: 'x'.repeat(512) },
            }),
            contentType: 'application/json',
          });
          if (res.status === 201) acknowledged.push(name);
        } catch {
          return; // the connection died with the server
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await new Promise((r) => setTimeout(r, 1500));
    await server.kill();
    stop = true;
    await Promise.all(writers);
    expect(acknowledged.length).toBeGreaterThan(20);

    await server.restart();
    const listed = (await call(server, 'GET', '/api/v1/namespaces/default/configmaps')).json();
    const present = new Set(listed.items.map((i: any) => i.metadata.name));
    expect(acknowledged.filter((n) => !present.has(n))).toEqual([]);

    const db = new Client({ connectionString: server.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query(
        `SELECT count(*)::int AS n, min(revision) AS lo, max(revision) AS hi,
                count(*) FILTER (WHERE object IS NULL AND sealed IS NULL)::int AS empty,
                (SELECT head_revision FROM branches WHERE id = 1) AS head
           FROM events WHERE branch_id = 1`,
      );
      expect(Number(rows[0].hi) - Number(rows[0].lo) + 1).toBe(rows[0].n);
      expect(rows[0].empty).toBe(0);
      expect(Number(rows[0].head)).toBe(Number(rows[0].hi));
    } finally {
      await db.end();
    }
  });
});
