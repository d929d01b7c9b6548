import { randomBytes } from 'crypto';
import { Client } from 'pg';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.KUBETIME_TEST_ADMIN_URL;
  if (!url) throw new Error('KUBETIME_TEST_ADMIN_URL is not set: run the suites through jest (global setup)');
  return url;
}

/** A fresh database per suite, so suites never see each other's history. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `kubetime_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: adminUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
