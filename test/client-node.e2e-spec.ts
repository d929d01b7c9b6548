import { execFile } from 'child_process';
import { join } from 'path';
import { promisify } from 'util';
import { startServer, stopServer, TestServer } from './support/server';
import type { TestDatabase } from './support/database';

const run = promisify(execFile);

describe('@kubernetes/client-node against kubetime', () => {
  let server: TestServer & { database: TestDatabase };

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    if (server) await stopServer(server);
  });

  it('lists, creates, patches, and keeps an informer in sync through list and watch', async () => {
    const { stdout } = await run(
      process.execPath,
      [join(__dirname, 'client-node/scenario.mjs'), server.kubeconfig],
      {
        timeout: 60_000,
        env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
      },
    );
    const report = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(report.namespaces).toEqual(expect.arrayContaining(['default', 'kube-system']));
    expect(report.patchedReplicas).toBe(3);
    expect(report.missingCode).toBe(404);
    expect(report.added).toEqual(expect.arrayContaining(['before', 'live-0', 'live-4']));
    expect(report.cached).toEqual(['live-0', 'live-1', 'live-2', 'live-3', 'live-4']);
  });
});
