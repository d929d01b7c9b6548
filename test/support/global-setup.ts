import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/**
 * End-to-end suites run against DATABASE_URL when it is set (CI points it at the machine's
 * PostgreSQL 15), and otherwise against an embedded PostgreSQL started here, as `npm start` does.
 * Each suite then creates its own database on that server.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.KUBETIME_TEST_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  // The file itself, not the library's index: jest's module mapping does not reach global set-up, so
  // nothing here may import another @kubetime library (the index's config does).
  const { startEmbeddedPostgres } = await import('../../libs/platform/src/embedded-postgres');
  const dataDir = process.env.KUBETIME_TEST_PG_DIR ?? mkdtempSync(join(tmpdir(), 'kubetime-test-pg-'));
  const silent = { info: () => undefined, warn: () => undefined };
  const server = await startEmbeddedPostgres(dataDir, silent as never);
  process.env.KUBETIME_TEST_ADMIN_URL = server.url;
  (globalThis as Record<string, unknown>).__KUBETIME_EMBEDDED_PG__ = server;
}
