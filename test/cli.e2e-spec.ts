import { copyFileSync, existsSync } from 'fs';
import { join } from 'path';
import { CliResult, runCli } from './support/cli';
import { startServer, stopServer, TestServer } from './support/server';
import type { TestDatabase } from './support/database';

describe('the kubetime CLI', () => {
  let server: TestServer & { database: TestDatabase };
  let kubeconfig: string;
  let good: number;
  let bad: number;

  beforeAll(async () => {
    server = await startServer();
    // A copy, so `kubetime kubeconfig` edits a file the server does not own.
    kubeconfig = join(server.dataDir, 'cli-kubeconfig');
    copyFileSync(server.kubeconfig, kubeconfig);
    await kubectl(['create', 'deployment', 'web', '--image=nginx:1.25']);
    good = Number(JSON.parse(await kubectl(['get', 'deploy', 'web', '-o', 'json'])).metadata.resourceVersion);
    await kubectl(['set', 'image', 'deployment/web', 'nginx=nginx:bad']);
    bad = Number(JSON.parse(await kubectl(['get', 'deploy', 'web', '-o', 'json'])).metadata.resourceVersion);
  });
  afterAll(async () => {
    if (server) await stopServer(server);
  });

  async function kubectl(args: string[]): Promise<string> {
    const result = await server.kubectl(args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  }

  const cli = (args: string[]): Promise<CliResult> => runCli(kubeconfig, args, 30_000);

  async function ok(args: string[]): Promise<string> {
    const result = await cli(args);
    if (result.code !== 0)
      throw new Error(`kubetime ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  }

  it('prints history as a table and as JSON', async () => {
    const table = await ok(['history', '--kind', 'Deployment']);
    const lines = table.trim().split('\n');
    expect(lines[0]).toMatch(/^REVISION\s+TIME\s+TYPE\s+KIND\s+OBJECT\s+ACTOR$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 1).concat(l.split(/\s+/).slice(2, 5)))).toEqual([
      [String(good), 'ADDED', 'Deployment', 'default/web'],
      [String(bad), 'MODIFIED', 'Deployment', 'default/web'],
    ]);
    const json = JSON.parse(
      await ok([
        'history',
        '-o',
        'json',
        '--type',
        'MODIFIED',
        '--where',
        '$.spec.template.spec.containers[0].image == "nginx:bad"',
      ]),
    );
    expect(json.items.map((e: any) => e.revision)).toEqual([bad]);
  });

  it('shows an object as it was and diffs two revisions', async () => {
    const shown = await ok(['show', 'deployment/web', '-n', 'default', '--at', String(good)]);
    expect(shown).toContain(`# branch main, revision ${good}`);
    expect(shown).toContain('image: nginx:1.25');
    const diff = await ok([
      'diff',
      String(good),
      `main@${bad}`,
      '--ignore',
      'resourceVersion,managedFields,generation,timestamps',
    ]);
    expect(diff).toContain(`~ Deployment default/web (${good} -> ${bad})`);
    expect(diff).toContain('replace /spec/template/spec/containers/0/image "nginx:bad"');
    expect(diff).toContain('0 added, 0 removed, 1 changed');
    const missing = await cli(['show', 'deployment/nope', '-n', 'default']);
    expect(missing.code).toBe(1);
  });

  it('creates, lists, resets and deletes branches, and writes kubeconfig contexts kubectl uses', async () => {
    expect(await ok(['branch', 'create', 'fix', '--from', `main@${good}`])).toContain(
      `fix: head ${good}, forked from main@${good}`,
    );
    const list = await ok(['branch', 'list']);
    expect(list).toMatch(/^NAME\s+HEAD\s+PARENT/);
    expect(list).toMatch(new RegExp(`\\nfix\\s+${good}\\s+main\\s+${good}\\s+wall`));

    expect(await ok(['kubeconfig', '--branch', 'fix'])).toContain('context kubetime-fix ->');
    await kubectl(['--kubeconfig', kubeconfig, '--context', 'kubetime-fix', 'create', 'configmap', 'on-fix']);
    expect((await server.kubectl(['get', 'configmap', 'on-fix'])).code).not.toBe(0);
    expect(await ok(['kubeconfig', '--branch', 'main', '--revision', String(good)])).toContain(
      `context kubetime-main-r${good} ->`,
    );
    const past = await kubectl([
      '--kubeconfig',
      kubeconfig,
      '--context',
      `kubetime-main-r${good}`,
      'get',
      'deploy',
      'web',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ]);
    expect(past).toBe('nginx:1.25');
    // The CLI follows a branch context: history defaults to that branch.
    const onFix = JSON.parse(
      await ok([
        '--context',
        'kubetime-fix',
        'history',
        '-o',
        'json',
        '--kind',
        'ConfigMap',
        '--name',
        'on-fix',
      ]),
    );
    expect(onFix.branch).toBe('fix');
    expect(onFix.items).toHaveLength(1);

    expect(await ok(['branch', 'reset', 'fix', '--to', String(good)])).toContain(`reset fix: head ${good}`);
    expect(await ok(['branch', 'delete', 'fix'])).toContain('deleted branch fix');
    const gone = await cli(['branch', 'delete', 'fix']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('branch "fix" does not exist');
  });

  it('replays at max speed up to a breakpoint, and saves and restores a snapshot', async () => {
    const replay = await ok([
      'replay',
      '--speed',
      'max',
      '--kind',
      'Deployment',
      '--break-on',
      'Deployment/web',
    ]);
    expect(replay).toMatch(new RegExp(`^${good}\\t.*\\tADDED\\tDeployment\\tdefault/web\\tadmin$`, 'm'));
    expect(replay).toContain(`-- breakpoint 0 {"kind":"Deployment","name":"web"} hit at revision ${good}`);

    const file = join(server.dataDir, 'state.kts');
    expect(await ok(['snapshot', 'save', file, '--revision', String(bad)])).toMatch(
      new RegExp(`saved \\d+ objects of main@${bad} to `),
    );
    expect(existsSync(file)).toBe(true);
    expect(await ok(['snapshot', 'restore', file, '--branch', 'copy'])).toMatch(
      new RegExp(`restored \\d+ objects of main@${bad} as branch copy`),
    );
    const diff = await ok(['diff', `main@${bad}`, 'copy', '--ignore', 'resourceVersion']);
    expect(diff).toContain('0 added, 0 removed, 0 changed');
  });

  it('compacts by a retention policy and explains a bad one', async () => {
    const lease = (holder: string) =>
      `apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: cli-lease\nspec:\n  holderIdentity: ${holder}\n`;
    for (const holder of ['a', 'b', 'c'])
      expect((await server.kubectl(['apply', '-f', '-'], lease(holder))).code).toBe(0);
    const out = await ok(['compact', '--policy', 'leases,events=0s']);
    expect(out.trim()).toMatch(/^leases,events on main: compacted at \d+, 2 superseded events deleted$/);
    const json = JSON.parse(await ok(['compact', '--policy', 'leases=1d', '-o', 'json']));
    expect(json.rules).toEqual([
      { resources: ['leases'], olderThanSeconds: 86400, cutoff: null, deletedEvents: 0 },
    ]);
    const bad = await cli(['compact', '--policy', 'leases']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--policy: leases: no age given');
    const unknown = await cli(['compact', '--policy', 'widgets=1h']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('unknown resource "widgets"');
    const both = await cli(['compact', '--policy', 'leases=1h', '--revision', '2']);
    expect(both.stderr).toContain('--revision or --policy, not both');
  });

  it('explains usage errors', async () => {
    const usage = await cli(['frobnicate']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('unknown command "frobnicate"');
  });
});
