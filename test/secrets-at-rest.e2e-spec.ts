import { randomBytes } from 'crypto';
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Client } from 'pg';
import { parse, stringify } from 'yaml';
import { startServer, stopServer, TestServer } from './support/server';
import type { TestDatabase } from './support/database';
import { call } from './support/http';

/** Every row of every table in the database, as text, so nothing can hide a plaintext copy. */
async function everyRow(databaseUrl: string): Promise<string> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows: tables } = await db.query(
      `SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
    );
    let all = '';
    for (const t of tables) {
      const { rows } = await db.query(`SELECT t::text AS row FROM "${t.schemaname}"."${t.tablename}" t`);
      // bytea renders as hex in ::text; decode it too, so sealed values are searched as bytes.
      for (const r of rows)
        all +=
          r.row +
          '\n' +
          r.row.replace(/\\\\x([0-9a-f]+)/g, (_: string, hex: string) =>
            Buffer.from(hex, 'hex').toString('latin1'),
          ) +
          '\n';
    }
    return all;
  } finally {
    await db.end();
  }
}

describe('Secrets are encrypted at rest', () => {
  let server: TestServer & { database: TestDatabase };
  const secret = (label: string) => `${label}-${randomBytes(6).toString('hex')}`;
  const plain = { applied: secret('applied'), created: secret('created'), patched: secret('patched') };

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    if (server) await stopServer(server);
  });

  async function ok(args: string[], input?: string): Promise<string> {
    const result = await server.kubectl(args, input);
    if (result.code !== 0)
      throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}\n${server.output().slice(-3000)}`);
    return result.stdout;
  }

  function decoded(json: string, key: string): string {
    return Buffer.from(JSON.parse(json).data[key], 'base64').toString('utf8');
  }

  it('keeps no secret value anywhere in the database, yet serves the plaintext through the API', async () => {
    await ok(
      ['apply', '-f', '-'],
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\nstringData:\n  password: ${plain.applied}\n`,
    );
    await ok(['create', 'secret', 'generic', 'created', `--from-literal=token=${plain.created}`]);
    await ok(['patch', 'secret', 'applied', '-p', JSON.stringify({ stringData: { extra: plain.patched } })]);

    expect(decoded(await ok(['get', 'secret', 'applied', '-o', 'json']), 'password')).toBe(plain.applied);
    expect(decoded(await ok(['get', 'secret', 'applied', '-o', 'json']), 'extra')).toBe(plain.patched);
    expect(decoded(await ok(['get', 'secret', 'created', '-o', 'json']), 'token')).toBe(plain.created);

    const rows = await everyRow(server.databaseUrl);
    expect(rows).toContain('k8s:enc:aesgcm:v1:key1:');
    for (const value of Object.values(plain)) {
      expect(rows).not.toContain(value);
      expect(rows).not.toContain(Buffer.from(value).toString('base64'));
    }
  });

  it('rotates keys: old versions stay readable while configured, re-encryption is recorded, a removed key is named', async () => {
    const generated = parse(readFileSync(join(server.dataDir, 'encryption-config.yaml'), 'utf8'));
    const aesgcm = generated.resources[0].providers.find((p: any) => p.aesgcm).aesgcm;
    const key1 = aesgcm.keys.find((k: any) => k.name === 'key1');
    const key2 = { name: 'key2', secret: randomBytes(32).toString('base64') };
    const config = (keys: unknown[]) =>
      stringify({
        apiVersion: 'apiserver.config.k8s.io/v1',
        kind: 'EncryptionConfiguration',
        resources: [{ resources: ['secrets'], providers: [{ aesgcm: { keys } }, { identity: {} }] }],
      });
    const rotated = join(server.dataDir, 'rotated.yaml');
    const only2 = join(server.dataDir, 'only-key2.yaml');
    writeFileSync(rotated, config([key2, key1]), { mode: 0o600 });
    writeFileSync(only2, config([key2]), { mode: 0o600 });

    const firstVersion = JSON.parse(await ok(['get', 'secret', 'created', '-o', 'json'])).metadata
      .resourceVersion;
    await server.stop();
    await server.restart({ KUBETIME_ENCRYPTION_CONFIG: rotated });
    const fresh = secret('fresh');
    await ok(['create', 'secret', 'generic', 'fresh', `--from-literal=v=${fresh}`]);
    const past = (
      await call(
        server,
        'GET',
        `/api/v1/namespaces/default/secrets/created?resourceVersion=${firstVersion}&resourceVersionMatch=Exact`,
      )
    ).json();
    expect(Buffer.from(past.data.token, 'base64').toString()).toBe(plain.created);

    // The re-encryption operation: an unchanged replace of every Secret, recorded as events.
    const all = JSON.parse(await ok(['get', 'secrets', '-A', '-o', 'json']));
    for (const item of all.items) {
      const replaced = await ok(
        ['replace', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'Secret', ...item }),
      );
      expect(replaced).toContain(`secret/${item.metadata.name} replaced`);
    }
    const db = new Client({ connectionString: server.databaseUrl });
    await db.connect();
    const { rows } = await db.query(
      `SELECT DISTINCT ON (key) key, encode(substring(sealed from 1 for 24), 'escape') AS prefix, actor FROM events WHERE resource = 'secrets' ORDER BY key, revision DESC`,
    );
    await db.end();
    for (const row of rows) expect(row.prefix).toMatch(/^k8s:enc:aesgcm:v1:key2:/);

    await server.stop();
    await server.restart({ KUBETIME_ENCRYPTION_CONFIG: only2 });
    expect(decoded(await ok(['get', 'secret', 'created', '-o', 'json']), 'token')).toBe(plain.created);
    expect(decoded(await ok(['get', 'secret', 'fresh', '-o', 'json']), 'v')).toBe(fresh);
    const gone = await call(
      server,
      'GET',
      `/api/v1/namespaces/default/secrets/created?resourceVersion=${firstVersion}&resourceVersionMatch=Exact`,
    );
    expect(gone.status).toBe(500);
    expect(gone.json().message).toContain('key1');
  });
});
