import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { RpcClient } from '../apps/cli/src/client';
import { startServer, stopServer, TestServer } from './support/server';
import type { TestDatabase } from './support/database';

const PASSWORD = 'hunter2-pass-through';
const QUOTED = 'say "hi" \\ back, then \'bye\' <>&';
const UNICODE = 'é ß 🦀 ЖЖ 中文 \u2028 end';

/** An encryption config that keeps Secrets in plaintext, so their stored bodies can come as text too. */
function plaintextSecrets(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'kubetime-pass-through-')), 'identity.json');
  const config = {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'EncryptionConfiguration',
    resources: [{ resources: ['secrets'], providers: [{ identity: {} }] }],
  };
  writeFileSync(path, JSON.stringify(config), { mode: 0o600 });
  return path;
}

/**
 * Past reads send bodies as the JSON text PostgreSQL holds (state.get, replay, history.events). The
 * head is served from memory, decoded, and so is a watch over recent events: each pass-through answer
 * is compared with that decoded answer for the same revisions, over the real socket.
 */
describe.each([
  ['sealed (the default encryption at rest)', () => ({})],
  ['in plaintext', () => ({ KUBETIME_ENCRYPTION_CONFIG: plaintextSecrets() })],
])('past reads pass stored JSON through, Secrets %s', (_secrets, env: () => Record<string, string>) => {
  let server: TestServer & { database: TestDatabase };
  let rpc: RpcClient;
  /** Text frames as they came off the socket, to see which encoder wrote them. */
  const frames: string[] = [];

  beforeAll(async () => {
    server = await startServer({ env: env() });
    rpc = await RpcClient.connect({ server: server.url, token: server.token, caPem: server.caPem });
    rpc.ws.on('message', (data) => frames.push(String(data)));
  });
  afterAll(async () => {
    rpc?.close();
    if (server) await stopServer(server);
  });

  async function ok(args: string[]): Promise<string> {
    const result = await server.kubectl(args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed:\n${result.stderr}`);
    return result.stdout;
  }

  async function head(): Promise<number> {
    return (await rpc.call('history.head', {})).revision;
  }

  /** The frame that answered the last call. */
  function lastResponse(): string {
    return [...frames].reverse().find((f) => f.includes('"result"'))!;
  }

  /** A paused replay's events, collected from its first notification to replay.done. */
  async function replayed(range: { from: number; to: number; filter?: unknown }): Promise<any[]> {
    const events: any[] = [];
    const started = await rpc.call('replay.start', { ...range, speed: 'max', paused: true });
    const off = rpc.on('replay.event', (p) => {
      if (p.subscription === started.subscription) events.push(p.event);
    });
    const done = collect('replay.done', started.subscription, () => true);
    await rpc.call('replay.resume', { subscription: started.subscription });
    await done;
    off();
    return events;
  }

  function collect(method: string, subscription: string, until: (p: any) => boolean): Promise<any[]> {
    const items: any[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${method}`)), 20_000);
      const off = rpc.on(method, (params) => {
        if (params.subscription !== subscription) return;
        items.push(params);
        if (until(params)) {
          clearTimeout(timer);
          off();
          resolve(items);
        }
      });
    });
  }

  let before: number;
  let at: number;
  let atHead: { full: any; labelled: any; cm: any };

  it('sets up objects with quotes, unicode and a Secret, and reads their state at the head', async () => {
    before = await head();
    await ok(['create', 'configmap', 'quotes', `--from-literal=q=${QUOTED}`, `--from-literal=u=${UNICODE}`]);
    await ok(['label', 'configmap', 'quotes', 'pass=through']);
    await ok(['create', 'configmap', 'plain', '--from-literal=a=b']);
    await ok(['create', 'secret', 'generic', 'db', `--from-literal=password=${PASSWORD}`]);
    await ok(['label', 'secret', 'db', 'pass=through']);
    at = await head();
    const full = await rpc.call('state.get', { revision: at });
    const labelled = await rpc.call('state.get', {
      revision: at,
      filter: { labelSelector: 'pass=through' },
    });
    atHead = { full, labelled, cm: JSON.parse(await ok(['get', 'configmap', 'quotes', '-o', 'json'])) };
    // The head comes from memory: JSON.stringify's compact output, no jsonb spacing.
    expect(lastResponse()).not.toContain('"kind": "ConfigMap"');
    expect(atHead.cm.data).toEqual({ q: QUOTED, u: UNICODE });
  });

  it('answers state.get at the same revision, once it is past, with the same objects', async () => {
    await ok(['label', 'configmap', 'quotes', 'later=yes']);
    await ok(['label', 'secret', 'db', 'later=yes']);
    await ok(['delete', 'configmap', 'plain']);
    expect(await head()).toBeGreaterThan(at);

    const past = await rpc.call('state.get', { revision: at });
    const frame = lastResponse();
    expect(past).toEqual(atHead.full);
    // The stored bytes went out as they are: jsonb's text output puts a space after every colon.
    expect(frame).toContain('"kind": "ConfigMap"');
    expect(frame).not.toContain(PASSWORD);
    expect(frame).not.toContain(Buffer.from(PASSWORD).toString('base64'));

    const quotes = past.items.find((o: any) => o.metadata.name === 'quotes');
    expect(quotes.data).toEqual({ q: QUOTED, u: UNICODE });
    expect(quotes.metadata.resourceVersion).toBe(atHead.cm.metadata.resourceVersion);
    expect(quotes.metadata.labels).toEqual({ pass: 'through' });
    const secret = past.items.find((o: any) => o.kind === 'Secret' && o.metadata.name === 'db');
    expect(secret.data.password).toMatch(/^<redacted hmac:[0-9a-f]{12} len:\d+>$/);
    expect(past.items.some((o: any) => o.metadata.name === 'plain')).toBe(true);

    const labelled = await rpc.call('state.get', { revision: at, filter: { labelSelector: 'pass=through' } });
    expect(labelled).toEqual(atHead.labelled);
    expect(labelled.items.map((o: any) => o.metadata.name).sort()).toEqual(['db', 'quotes']);
  });

  it('replays and lists events exactly as a watch over the same revisions sends them', async () => {
    const to = await head();
    const { subscription: watchId } = await rpc.call('watch.subscribe', { from: before });
    const watched = (await collect('watch.event', watchId, (p) => p.event.revision === to)).map(
      (p) => p.event,
    );
    await rpc.call('watch.unsubscribe', { subscription: watchId });
    expect(watched.map((e) => e.name)).toEqual(expect.arrayContaining(['quotes', 'plain', 'db']));

    const replayEvents = await replayed({ from: before + 1, to });
    expect(replayEvents).toEqual(watched);
    for (const event of replayEvents.filter((e) => e.object))
      expect(event.object.metadata.resourceVersion).toBe(String(event.revision));
    const secretEvents = replayEvents.filter((e) => e.kind === 'Secret');
    expect(secretEvents.length).toBeGreaterThan(0);
    for (const event of secretEvents) expect(event.object.data.password).toMatch(/^<redacted /);

    const listed = await rpc.call('history.events', { from: before + 1, to });
    expect(listed.items).toEqual(watched);
  });

  it('filters on bodies still read them: a label selector in a replay and in history.events', async () => {
    const to = await head();
    const filter = { labelSelector: 'later=yes' };
    const { subscription: watchId } = await rpc.call('watch.subscribe', { from: before, filter });
    const watched = (await collect('watch.event', watchId, (p) => p.event.name === 'db')).map((p) => p.event);
    await rpc.call('watch.unsubscribe', { subscription: watchId });
    expect(watched.map((e) => e.name)).toEqual(['quotes', 'db']);

    expect(await replayed({ from: before + 1, to, filter })).toEqual(watched);
    expect((await rpc.call('history.events', { from: before + 1, to, filter })).items).toEqual(watched);
  });
});
