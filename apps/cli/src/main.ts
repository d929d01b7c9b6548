import { createHash } from 'crypto';
import { createReadStream, createWriteStream } from 'fs';
import { stat } from 'fs/promises';
import { parseArgs, ParseArgsConfig } from 'util';
import { stringify } from 'yaml';
import { parseRetentionRules, readKubeconfig } from '@kubetime/platform';
import { RpcCallError, RpcClient, scopeOf } from './client';
import { writeBranchContext } from './kubeconfig';
import { Output } from './output';

const USAGE = `kubetime: time travel for a kubetime cluster (the server and token come from the kubeconfig, like kubectl)

Usage: kubetime [--kubeconfig FILE] [--context NAME] [-o json] COMMAND

  history [--branch B] [--from R] [--to R] [FILTER] [--limit N]     events, newest last
  show KIND/NAME [-n NS] [--branch B] [--at R|TIME] [--reveal]        an object as it was
  diff A B [--ignore LIST] [FILTER]                                   A, B: [branch@]revision, [branch@]time or branch
  branch create NAME [--from [branch@]R|TIME] [--clock wall|virtual]
  branch list
  branch reset NAME --to R|TIME
  branch delete NAME
  replay [--branch B] [--from R] [--to R] [--speed X|max] [--break PREDICATE]... [--break-on KIND/NAME]... [FILTER]
                                                                      keys when interactive: space pause/resume, n step, b step back, q quit
  clock advance BRANCH SECONDS                                         move a virtual-clock branch forward
  clock run-until BRANCH [FILTER] [--max-seconds N]                   ... until an event matches (default 600 s)
  reexecute --from R --to R --target NAME [--branch B] [FILTER]       user writes of B (from, to] onto a new virtual branch;
                                                                      FILTER narrows the divergence report
  explain KIND/NAME [-n NS] [--branch B] [--at R|TIME]                the cause chain and, for a Pod, the scheduler's decision
  node list [--branch B]                                              simulated nodes: state, Ready condition
  node stop NAME [--branch B]                                         the node's kubelet stops: no Lease, NotReady after 40 s
  node start NAME [--branch B]                                        ... and runs again
  compact --revision R [--branch B]                                   forget superseded versions at or below R (recorded)
  compact --policy 'leases,events=1h' [--branch B]                    only those resources: versions older than the age
                                                                      keep only their latest (ages: 90s, 10m, 1h, 7d)
  kubeconfig --branch NAME [--revision R] [--name CONTEXT] [--use]    writes a context for /branches/NAME[/revisions/R]/
  snapshot save FILE [--format native|etcd] [--branch B] [--revision R] [--history]
                                                                      --history (etcd): also the events above the compaction point
  snapshot restore FILE --branch NAME [--format native|etcd]
                        [--allow-unimported] [--bump-revision N] [--mark-compacted]   (the three: etcd format)

FILTER: [--kind K] [-n NS] [--name N] [--name-prefix P] [-l SELECTOR] [--type ADDED|MODIFIED|DELETED]
        [--actor NAME] [--actor-kind user|controller] [--where '$.spec.replicas > 2']
`;

const OPTIONS: ParseArgsConfig['options'] = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  output: { type: 'string', short: 'o' },
  branch: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  at: { type: 'string' },
  revision: { type: 'string' },
  limit: { type: 'string' },
  kind: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  name: { type: 'string' },
  'name-prefix': { type: 'string' },
  selector: { type: 'string', short: 'l' },
  type: { type: 'string' },
  actor: { type: 'string' },
  'actor-kind': { type: 'string' },
  where: { type: 'string' },
  ignore: { type: 'string' },
  reveal: { type: 'boolean' },
  speed: { type: 'string' },
  break: { type: 'string', multiple: true },
  'break-on': { type: 'string', multiple: true },
  use: { type: 'boolean' },
  format: { type: 'string' },
  history: { type: 'boolean' },
  'allow-unimported': { type: 'boolean' },
  'bump-revision': { type: 'string' },
  'mark-compacted': { type: 'boolean' },
  clock: { type: 'string' },
  target: { type: 'string' },
  'max-seconds': { type: 'string' },
  policy: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

type Flags = Record<string, string | boolean | string[] | undefined>;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const flags = values as Flags;
  if (flags.help || !positionals.length) {
    process.stdout.write(USAGE);
    return positionals.length || flags.help ? 0 : 2;
  }
  const out = new Output(flags.output === 'json');
  if (flags.output !== undefined && flags.output !== 'json') throw new UsageError('-o accepts only json');
  const [command, ...args] = positionals;
  const selection = { kubeconfig: str(flags.kubeconfig), context: str(flags.context) };
  if (command === 'kubeconfig') return kubeconfigCommand(flags, selection, out);

  const connection = readKubeconfig(selection);
  const scope = scopeOf(connection.server);
  const defaultBranch = str(flags.branch) ?? scope.branch ?? 'main';
  const rpc = await RpcClient.connect(connection);
  try {
    switch (command) {
      case 'history':
        return await history(rpc, flags, defaultBranch, out);
      case 'show':
        return await show(rpc, args, flags, defaultBranch, out);
      case 'diff':
        return await diff(rpc, args, flags, defaultBranch, out);
      case 'branch':
        return await branch(rpc, args, flags, defaultBranch, out);
      case 'replay':
        return await replay(rpc, flags, defaultBranch, out);
      case 'snapshot':
        return await snapshot(rpc, args, flags, defaultBranch, out);
      case 'clock':
        return await clock(rpc, args, flags, out);
      case 'reexecute':
        return await reexecute(rpc, flags, defaultBranch, out);
      case 'explain':
        return await explain(rpc, args, flags, defaultBranch, out);
      case 'compact':
        return await compact(rpc, flags, defaultBranch, out);
      case 'node':
        return await node(rpc, args, defaultBranch, out);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    rpc.close();
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function int(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value))
    throw new UsageError(`${what} must be a revision number`);
  return Number(value);
}

function filterFrom(flags: Flags): Record<string, unknown> {
  const filter: Record<string, unknown> = {
    kind: str(flags.kind),
    namespace: str(flags.namespace),
    name: str(flags.name),
    namePrefix: str(flags['name-prefix']),
    labelSelector: str(flags.selector),
    type: str(flags.type),
    actor: str(flags.actor),
    actorKind: str(flags['actor-kind']),
    where: str(flags.where),
  };
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined));
}

/** `[branch@]revision`, `[branch@]time` or `branch` -> a point for the API. */
export function parsePoint(text: string, defaultBranch: string): Record<string, unknown> {
  const at = text.lastIndexOf('@');
  const branch = at >= 0 ? text.slice(0, at) : undefined;
  const rest = at >= 0 ? text.slice(at + 1) : text;
  if (/^\d+$/.test(rest)) return { branch: branch ?? defaultBranch, revision: Number(rest) };
  if (/^\d{4}-\d{2}-\d{2}T/.test(rest)) return { branch: branch ?? defaultBranch, time: rest };
  if (at < 0) return { branch: rest };
  throw new UsageError(`"${text}" is not [branch@]revision, [branch@]time or a branch name`);
}

async function history(rpc: RpcClient, flags: Flags, branch: string, out: Output): Promise<number> {
  const limit = int(flags.limit, '--limit') ?? 100;
  const params: Record<string, unknown> = {
    branch,
    filter: filterFrom(flags),
    objects: false,
    from: int(flags.from, '--from'),
    to: int(flags.to, '--to'),
  };
  const items: any[] = [];
  let cursor: string | undefined;
  // Pages until the limit is reached or history runs out; each page is bounded by the server.
  for (let page = 0; page < 10_000 && items.length < limit; page++) {
    const result = await rpc.call('history.events', {
      ...params,
      limit: Math.min(1000, limit - items.length),
      ...(cursor ? { cursor } : {}),
    });
    items.push(...result.items);
    if (!result.cursor) break;
    cursor = result.cursor;
  }
  if (out.json) return out.write({ branch, items });
  out.table(
    ['REVISION', 'TIME', 'TYPE', 'KIND', 'OBJECT', 'ACTOR'],
    items.map((e) => [
      String(e.revision),
      e.time,
      e.type,
      e.kind,
      e.namespace ? `${e.namespace}/${e.name}` : e.name,
      `${e.actor}${e.actorKind === 'controller' ? ' (controller)' : ''}`,
    ]),
  );
  return 0;
}

async function show(
  rpc: RpcClient,
  args: string[],
  flags: Flags,
  branch: string,
  out: Output,
): Promise<number> {
  const [target] = args;
  const slash = target?.indexOf('/') ?? -1;
  if (!target || slash <= 0) throw new UsageError('show needs KIND/NAME');
  const at = str(flags.at);
  const point = at ? parsePoint(at, branch) : { branch };
  const filter = {
    kind: target.slice(0, slash),
    name: target.slice(slash + 1),
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
  };
  const result = await rpc.call('state.get', { ...point, filter, reveal: flags.reveal === true });
  if (!result.items.length) {
    process.stderr.write(
      `${target} did not exist on branch ${result.branch} at revision ${result.revision}\n`,
    );
    return 1;
  }
  if (out.json) return out.write(result.items.length === 1 ? result.items[0] : result.items);
  process.stdout.write(`# branch ${result.branch}, revision ${result.revision}\n`);
  process.stdout.write(result.items.map((o: unknown) => stringify(o)).join('---\n'));
  return 0;
}

async function diff(
  rpc: RpcClient,
  args: string[],
  flags: Flags,
  branch: string,
  out: Output,
): Promise<number> {
  if (args.length !== 2) throw new UsageError('diff needs two points: A B');
  const ignore = str(flags.ignore)?.split(',').filter(Boolean) ?? [];
  const result = await rpc.call('diff', {
    from: parsePoint(args[0], branch),
    to: parsePoint(args[1], branch),
    filter: filterFrom(flags),
    ignore,
    objects: false,
  });
  if (out.json) return out.write(result);
  const name = (o: any) => `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
  process.stdout.write(
    `diff ${result.from.branch}@${result.from.revision} ${result.to.branch}@${result.to.revision}\n`,
  );
  for (const o of result.added) process.stdout.write(`+ ${name(o)}\n`);
  for (const o of result.removed) process.stdout.write(`- ${name(o)}\n`);
  for (const o of result.changed) {
    process.stdout.write(`~ ${name(o)} (${o.fromRevision} -> ${o.toRevision})\n`);
    for (const op of o.patch)
      process.stdout.write(`    ${op.op} ${op.path}${'value' in op ? ` ${JSON.stringify(op.value)}` : ''}\n`);
  }
  process.stdout.write(
    `${result.added.length} added, ${result.removed.length} removed, ${result.changed.length} changed, ${result.unchanged} unchanged\n`,
  );
  return 0;
}

async function branch(
  rpc: RpcClient,
  args: string[],
  flags: Flags,
  defaultBranch: string,
  out: Output,
): Promise<number> {
  const [sub, name] = args;
  const describe = (b: any) =>
    `${b.name}: head ${b.headRevision}${b.parent ? `, forked from ${b.parent}@${b.forkRevision}` : ''}, clock ${b.clock}`;
  switch (sub) {
    case 'list': {
      const result = await rpc.call('branch.list');
      if (out.json) return out.write(result);
      out.table(
        ['NAME', 'HEAD', 'PARENT', 'FORK', 'CLOCK', 'CREATED'],
        result.items.map((b: any) => [
          b.name,
          String(b.headRevision),
          b.parent ?? '-',
          b.forkRevision === null ? '-' : String(b.forkRevision),
          b.clock,
          b.createdAt,
        ]),
      );
      return 0;
    }
    case 'create': {
      if (!name) throw new UsageError('branch create needs a NAME');
      const from = str(flags.from) ? parsePoint(str(flags.from)!, defaultBranch) : { branch: defaultBranch };
      const clockKind = str(flags.clock) ?? 'wall';
      if (clockKind !== 'wall' && clockKind !== 'virtual')
        throw new UsageError('--clock must be wall or virtual');
      const result = await rpc.call('branch.create', { name, from, clock: clockKind });
      return out.json ? out.write(result) : out.line(`created ${describe(result)}`);
    }
    case 'reset': {
      const to = str(flags.to);
      if (!name || !to) throw new UsageError('branch reset needs NAME and --to R|TIME');
      const point = parsePoint(to, name);
      const result = await rpc.call('branch.reset', { name, revision: point.revision, time: point.time });
      return out.json
        ? out.write(result)
        : out.line(`reset ${describe(result)} (was at ${result.resetFrom})`);
    }
    case 'delete': {
      if (!name) throw new UsageError('branch delete needs a NAME');
      const result = await rpc.call('branch.delete', { name });
      return out.json ? out.write(result) : out.line(`deleted branch ${name}`);
    }
    default:
      throw new UsageError('branch needs create, list, reset or delete');
  }
}

async function node(rpc: RpcClient, args: string[], branch: string, out: Output): Promise<number> {
  const [sub, name] = args;
  if (sub === 'stop' || sub === 'start') {
    if (!name) throw new UsageError(`node ${sub} needs a NAME`);
    const result = await rpc.call(`node.${sub}`, { branch, name });
    if (out.json) return out.write(result);
    const what = sub === 'stop' ? 'stopped' : 'started';
    return out.line(
      `node/${name} ${result.changed ? what : `already ${result.state}`} on branch ${branch} (revision ${result.revision})`,
    );
  }
  if (sub !== 'list') throw new UsageError('node needs list, stop or start');
  const result = await rpc.call('state.get', { branch, filter: { kind: 'Node' } });
  const items = result.items.map((n: any) => {
    const ready = (n.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
    return {
      name: n.metadata.name,
      simulated: n.metadata.annotations?.['kubetime.io/simulated'] === 'true',
      state: n.metadata.annotations?.['kubetime.io/simulated-state'] === 'stopped' ? 'stopped' : 'running',
      ready: ready?.status ?? 'Unknown',
      reason: ready?.reason ?? '',
      taints: (n.spec?.taints ?? []).map((t: any) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`),
    };
  });
  if (out.json) return out.write({ branch: result.branch, revision: result.revision, items });
  out.table(
    ['NAME', 'STATE', 'READY', 'REASON', 'TAINTS'],
    items.map((n: any) => [
      n.name,
      n.simulated ? n.state : 'not simulated',
      n.ready,
      n.reason,
      n.taints.join(',') || '<none>',
    ]),
  );
  return 0;
}

async function clock(rpc: RpcClient, args: string[], flags: Flags, out: Output): Promise<number> {
  const [sub, branchName, secondsText] = args;
  if (sub === 'advance') {
    const seconds = Number(secondsText);
    if (!branchName || !(seconds >= 0)) throw new UsageError('clock advance needs BRANCH and SECONDS');
    const result = await rpc.call('clock.advance', { branch: branchName, seconds });
    if (out.json) return out.write(result);
    return out.line(
      `${branchName}: ${result.from} -> ${result.time}, ${result.events} events, head ${result.revision}`,
    );
  }
  if (sub === 'run-until') {
    if (!branchName) throw new UsageError('clock run-until needs BRANCH and a FILTER');
    const maxSeconds = str(flags['max-seconds']) === undefined ? undefined : Number(flags['max-seconds']);
    if (maxSeconds !== undefined && !(maxSeconds >= 0))
      throw new UsageError('--max-seconds must be a number');
    const predicate = filterFrom(flags);
    if (!Object.keys(predicate).length) throw new UsageError('clock run-until needs a FILTER (e.g. --where)');
    const result = await rpc.call('clock.runUntil', { branch: branchName, predicate, maxSeconds });
    if (out.json) return out.write(result);
    if (!result.held) {
      process.stderr.write(`${result.message}\n`);
      return 1;
    }
    const e = result.event;
    return out.line(
      `held after ${result.elapsedSeconds} s at revision ${result.revision} (${result.time})` +
        (e
          ? `: ${e.type} ${e.kind} ${e.namespace ? `${e.namespace}/` : ''}${e.name} by ${e.actor}`
          : ': already true'),
    );
  }
  throw new UsageError('clock needs advance or run-until');
}

async function reexecute(rpc: RpcClient, flags: Flags, branch: string, out: Output): Promise<number> {
  const from = int(flags.from, '--from');
  const to = int(flags.to, '--to');
  const target = str(flags.target);
  if (from === undefined || to === undefined || !target)
    throw new UsageError('reexecute needs --from R --to R --target NAME');
  out.progress(`re-executing ${branch} (${from}, ${to}] onto ${target} ...`);
  const result = await rpc.call('replay.reexecute', {
    source: { branch, from, to },
    target,
    filter: filterFrom(flags),
  });
  out.progressDone();
  if (out.json) return out.write(result);
  out.line(
    `${target}: ${result.replayed}/${result.userWrites} user writes replayed, ${result.events} events ` +
      `(recorded ${result.recordedEvents}), virtual ${result.clock.start} -> ${result.clock.end}, ${result.wallMs} ms`,
  );
  for (const s of result.skipped) out.line(`  skipped revision ${s.revision}: ${s.reason}`);
  out.line(
    `${result.identicalObjects} objects identical, ${result.divergences.length} diverge${result.divergencesTruncated ? ' (list truncated)' : ''}`,
  );
  const describe = (e: any) => (e ? `${e.type} by ${e.actor} at ${e.revision}` : 'nothing');
  for (const d of result.divergences) {
    out.line(
      `~ ${d.kind} ${d.namespace ? `${d.namespace}/` : ''}${d.name} from event #${d.index + 1}: recorded ${describe(d.recorded)}, now ${describe(d.reexecuted)}`,
    );
    for (const op of d.patch ?? [])
      out.line(`    ${op.op} ${op.path}${'value' in op ? ` ${JSON.stringify(op.value)}` : ''}`);
  }
  return out.line(`fingerprint ${result.fingerprint}`);
}

async function explain(
  rpc: RpcClient,
  args: string[],
  flags: Flags,
  branch: string,
  out: Output,
): Promise<number> {
  const [target] = args;
  const slash = target?.indexOf('/') ?? -1;
  if (!target || slash <= 0) throw new UsageError('explain needs KIND/NAME');
  const at = str(flags.at);
  const point = at ? parsePoint(at, branch) : { branch };
  const result = await rpc.call('explain', {
    ...point,
    kind: target.slice(0, slash),
    name: target.slice(slash + 1),
    // As kubectl does; the server ignores a namespace for cluster-scoped kinds.
    namespace: str(flags.namespace) ?? 'default',
  });
  if (out.json) return out.write(result);
  const step = (l: any) =>
    `${l.revision}  ${l.type} ${l.kind} ${l.namespace ? `${l.namespace}/` : ''}${l.name} by ${l.actor}${l.actorKind === 'controller' ? ' (controller)' : ''}`;
  out.line(
    `${result.kind} ${result.namespace ? `${result.namespace}/` : ''}${result.name} at ${result.branch}@${result.revision}${result.exists ? '' : ' (deleted)'}`,
  );
  out.line('created by:');
  for (const l of result.createdBy) out.line(`  <- ${step(l)}`);
  out.line('last changed by:');
  for (const l of result.lastChangedBy) out.line(`  <- ${step(l)}`);
  if (result.scheduling) {
    const s = result.scheduling;
    out.line(
      `scheduling: ${s.node ? `bound to ${s.node}` : 'not bound'}${s.condition?.message ? ` (${s.condition.message})` : ''}`,
    );
    for (const e of s.events) out.line(`  ${e.type} ${e.reason} x${e.count}: ${e.message}`);
    for (const n of s.decision?.nodes ?? []) {
      const refused = Object.entries(n.filters ?? {}).filter(([, verdict]) => verdict !== 'Success');
      const scores = Object.entries(n.scores ?? {}).map(([plugin, score]) => `${plugin} ${score}`);
      out.line(
        `  ${n.node === s.decision.node ? '*' : ' '} ${n.node}: ${
          refused.length
            ? `filtered out by ${refused.map(([plugin, verdict]) => `${plugin} (${verdict})`).join(', ')}`
            : `score ${n.total ?? '?'}${scores.length ? ` = ${scores.join(', ')}` : ''}`
        }`,
      );
    }
  }
  return 0;
}

async function compact(rpc: RpcClient, flags: Flags, branch: string, out: Output): Promise<number> {
  const revision = int(flags.revision, '--revision');
  const policy = str(flags.policy);
  if (revision !== undefined && policy !== undefined)
    throw new UsageError('compact takes --revision or --policy, not both');
  if (policy !== undefined) return compactByPolicy(rpc, policy, branch, out);
  if (revision === undefined) throw new UsageError("compact needs --revision R or --policy 'RESOURCES=AGE'");
  const result = await rpc.call('retention.compact', { branch, revision });
  if (out.json) return out.write(result);
  return out.line(
    `compacted ${branch} at ${result.compactRevision}: ${result.deletedEvents} superseded events deleted`,
  );
}

async function compactByPolicy(rpc: RpcClient, text: string, branch: string, out: Output): Promise<number> {
  let rules;
  try {
    rules = parseRetentionRules(text);
  } catch (error) {
    throw new UsageError(`--policy: ${(error as Error).message}`);
  }
  const result = await rpc.call('retention.compact', { branch, policy: { rules } });
  if (out.json) return out.write(result);
  for (const rule of result.rules as {
    resources: string[];
    olderThanSeconds: number;
    cutoff: number | null;
    deletedEvents: number;
  }[]) {
    out.line(
      rule.cutoff === null
        ? `${rule.resources.join(',')} on ${branch}: nothing older than ${rule.olderThanSeconds}s`
        : `${rule.resources.join(',')} on ${branch}: compacted at ${rule.cutoff}, ${rule.deletedEvents} superseded events deleted`,
    );
  }
  return 0;
}

async function replay(rpc: RpcClient, flags: Flags, branch: string, out: Output): Promise<number> {
  const speedText = str(flags.speed) ?? '1';
  const speed = speedText === 'max' ? 'max' : Number(speedText);
  if (speed !== 'max' && !(speed > 0)) throw new UsageError('--speed must be a positive number or max');
  const breakpoints = [
    ...((flags.break as string[] | undefined) ?? []).map((where) => ({ where })),
    ...((flags['break-on'] as string[] | undefined) ?? []).map((target) => {
      const [kind, name] = target.split('/');
      if (!kind || !name) throw new UsageError('--break-on needs KIND/NAME');
      return { kind, name };
    }),
  ];
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !out.json;
  const ref: { id?: string } = {};
  const print = (event: any) => {
    if (out.json) return out.write({ event });
    out.line(
      `${event.revision}\t${event.time}\t${event.type}\t${event.kind}\t${event.namespace ? `${event.namespace}/` : ''}${event.name}\t${event.actor}`,
    );
  };
  const finished = new Promise<number>((resolve) => {
    rpc.on('replay.event', (p) => p.subscription === ref.id && print(p.event));
    rpc.on('replay.done', (p) => {
      if (p.subscription !== ref.id) return;
      if (!interactive) resolve(0);
      else out.line(`-- end of range at revision ${p.position} (b: step back, q: quit)`);
    });
    rpc.on(
      'replay.error',
      (p) => p.subscription === ref.id && (process.stderr.write(`replay failed: ${p.message}\n`), resolve(1)),
    );
    rpc.on(
      'replay.rewound',
      (p) => p.subscription === ref.id && out.line(`<< back to revision ${p.position}`),
    );
    rpc.on('replay.paused', (p) => {
      if (p.subscription !== ref.id) return;
      const which = JSON.stringify(
        Object.fromEntries(Object.entries(p.breakpoint).filter(([k]) => k !== 'index')),
      );
      if (out.json) out.write({ paused: p });
      else
        out.line(
          `-- breakpoint ${p.breakpoint.index} ${which} hit at revision ${p.position}${interactive ? ' (space: resume, n: step, b: back, q: quit)' : ''}`,
        );
      if (!interactive) resolve(0);
    });
    if (interactive) {
      process.stdin.setRawMode(true);
      process.stdin.resume();
      let paused = false;
      process.stdin.on('data', (key: Buffer) => {
        const k = key.toString();
        const id = ref.id;
        if (!id) return;
        if (k === 'q' || k === '\u0003') resolve(0);
        else if (k === ' ') {
          paused = !paused;
          void rpc
            .call(paused ? 'replay.pause' : 'replay.resume', { subscription: id })
            .then((s) => out.line(`-- ${s.state} at revision ${s.position}`));
        } else if (k === 'n' || k === 'b') {
          paused = true;
          void rpc.call('replay.step', { subscription: id, count: k === 'n' ? 1 : -1 });
        }
      });
    }
  });
  const started = await rpc.call('replay.start', {
    branch,
    from: int(flags.from, '--from'),
    to: int(flags.to, '--to'),
    speed,
    filter: filterFrom(flags),
    breakpoints,
  });
  ref.id = started.subscription;
  if (!out.json)
    process.stderr.write(
      `replaying ${started.branch} ${started.from}..${started.to} at ${speed === 'max' ? 'max speed' : `${speed}x`}\n`,
    );
  const code = await finished;
  if (interactive) process.stdin.setRawMode(false);
  process.stdin.pause();
  return code;
}

async function snapshot(
  rpc: RpcClient,
  args: string[],
  flags: Flags,
  branch: string,
  out: Output,
): Promise<number> {
  const [sub, file] = args;
  if (!file || (sub !== 'save' && sub !== 'restore'))
    throw new UsageError('snapshot needs save FILE or restore FILE');
  const format = str(flags.format) ?? 'native';
  if (format !== 'native' && format !== 'etcd') throw new UsageError('--format must be native or etcd');
  const etcd = format === 'etcd';
  const etcdOnly = sub === 'save' ? ['history'] : ['allow-unimported', 'bump-revision', 'mark-compacted'];
  for (const flag of etcdOnly)
    if (flags[flag] !== undefined && !etcd) throw new UsageError(`--${flag} needs --format etcd`);
  if (sub === 'save') {
    const stream = createWriteStream(file, { mode: 0o600 });
    const hash = createHash('sha256');
    const ref: { id?: string } = {};
    const done = new Promise<any>((resolve, reject) => {
      rpc.on('snapshot.chunk', (p) => {
        if (p.transfer !== ref.id) return;
        const data = Buffer.from(p.data, 'base64');
        hash.update(data);
        stream.write(data);
      });
      rpc.on(
        'snapshot.progress',
        (p) =>
          p.transfer === ref.id &&
          out.progress(
            etcd
              ? `saving ${p.bytes}/${p.totalBytes} bytes`
              : `saving ${p.objects}/${p.total} objects, ${p.bytes} bytes`,
          ),
      );
      rpc.on('snapshot.done', (p) => p.transfer === ref.id && resolve(p));
      rpc.on('snapshot.error', (p) => p.transfer === ref.id && reject(new Error(p.message)));
    });
    const started = await rpc.call('snapshot.save', {
      branch,
      revision: int(flags.revision, '--revision'),
      format,
      ...(etcd ? { history: flags.history === true } : {}),
    });
    ref.id = started.transfer;
    const result = await done;
    await new Promise<void>((resolve, reject) =>
      stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    out.progressDone();
    const digest = hash.digest('hex');
    if (digest !== result.sha256)
      throw new Error(`the file written has sha256 ${digest}, the server sent ${result.sha256}`);
    if (etcd) {
      const summary = {
        file,
        format,
        ...started.header.source,
        compactRevision: started.header.compactRevision,
        keys: result.keys,
        bytes: result.bytes,
        sha256: digest,
      };
      return out.json
        ? out.write(summary)
        : out.line(
            `saved ${summary.branch}@${summary.revision} as an etcd snapshot to ${file}: ${result.keys} revision keys, ` +
              `compacted at ${summary.compactRevision} (${result.bytes} bytes)`,
          );
    }
    const summary = {
      file,
      ...started.header.source,
      objects: result.objects,
      bytes: result.bytes,
      sha256: digest,
    };
    return out.json
      ? out.write(summary)
      : out.line(
          `saved ${result.objects} objects of ${summary.branch}@${summary.revision} to ${file} (${result.bytes} bytes)`,
        );
  }
  const target = str(flags.branch);
  if (!target) throw new UsageError('snapshot restore needs --branch NAME (the branch to create)');
  const size = (await stat(file)).size;
  const options = etcd
    ? {
        allowUnimported: flags['allow-unimported'] === true,
        bumpRevision: int(flags['bump-revision'], '--bump-revision'),
        markCompacted: flags['mark-compacted'] === true,
      }
    : {};
  const upload = await rpc.call('snapshot.restore', { branch: target, format, ...options });
  const hash = createHash('sha256');
  let seq = 0;
  let sent = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    await rpc.call('snapshot.upload', {
      upload: upload.upload,
      seq: seq++,
      data: (chunk as Buffer).toString('base64'),
    });
    sent += (chunk as Buffer).length;
    out.progress(`uploading ${sent}/${size} bytes`);
  }
  const off = rpc.on(
    'snapshot.progress',
    (p) =>
      p.transfer === upload.upload &&
      out.progress(
        etcd ? `restoring ${p.events}/${p.total} changes` : `restoring ${p.objects}/${p.total} objects`,
      ),
  );
  let result;
  try {
    result = await rpc.call('snapshot.commit', { upload: upload.upload, sha256: hash.digest('hex') });
  } finally {
    off();
    out.progressDone();
  }
  if (etcd) return out.json ? out.write(result) : printEtcdRestore(out, result);
  return out.json
    ? out.write(result)
    : out.line(
        `restored ${result.objects} objects of ${result.source.branch}@${result.source.revision} as branch ${result.branch} (head ${result.revision})`,
      );
}

function printEtcdRestore(out: Output, result: any): number {
  out.line(
    `restored etcd snapshot at revision ${result.snapshot.revision} (compacted at ${result.snapshot.compactRevision}` +
      `${result.snapshot.sha256Verified ? ', sha256 verified' : ', no sha256 trailer'}) as branch ${result.branch}: ` +
      `${result.events} events, ${result.keys} keys, head ${result.revision}` +
      (result.bumpedTo === undefined ? '' : `, revisions bumped past ${result.bumpedTo}`),
  );
  const unimported: { key: string; revisions: number[]; reason: string }[] = result.unimported.keys;
  if (!unimported.length) return 0;
  out.line(
    `${result.unimported.count} key(s) not restored as objects (values under /registry/ are kept as their raw bytes):`,
  );
  for (const u of unimported) out.line(`  ${u.key} @${u.revisions.join(',')}: ${u.reason}`);
  return 0;
}

function kubeconfigCommand(
  flags: Flags,
  selection: { kubeconfig?: string; context?: string },
  out: Output,
): number {
  const branchName = str(flags.branch);
  if (!branchName) throw new UsageError('kubeconfig needs --branch NAME');
  const written = writeBranchContext(selection, {
    branch: branchName,
    revision: int(flags.revision, '--revision'),
    name: str(flags.name),
    use: flags.use === true,
  });
  if (out.json) return out.write(written);
  out.line(`context ${written.context} -> ${written.server} written to ${written.file}`);
  out.line(`use it with: kubectl --context ${written.context} get pods`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    const code = (error as { code?: unknown }).code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`kubetime: ${(error as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    const suffix = error instanceof RpcCallError ? ` (code ${error.code})` : '';
    process.stderr.write(`kubetime: ${(error as Error).message}${suffix}\n`);
    process.exit(1);
  },
);
