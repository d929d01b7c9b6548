import { existsSync, readFileSync, writeFileSync } from 'fs';
import { homedir } from 'os';
import { delimiter, join, resolve } from 'path';
import { parse, stringify } from 'yaml';

export interface KubeconfigSelection {
  kubeconfig?: string;
  context?: string;
}

/** The file kubectl would modify: --kubeconfig, else the first existing KUBECONFIG entry, else ~/.kube/config. */
export function kubeconfigFile(selection: KubeconfigSelection, env: NodeJS.ProcessEnv = process.env): string {
  if (selection.kubeconfig) return resolve(selection.kubeconfig);
  const listed = (env.KUBECONFIG ?? '')
    .split(delimiter)
    .filter((entry) => entry !== '')
    .map((entry) => resolve(entry));
  const present = listed.find((path) => existsSync(path));
  if (present) return present;
  return join(env.HOME || homedir(), '.kube', 'config');
}

interface Named {
  name: string;
  [field: string]: any;
}

/**
 * Adds (or replaces) a context and a cluster pointing at a branch, or a branch at a revision, reusing
 * the user and CA of the chosen context; the current context is left alone unless asked.
 */
export function writeBranchContext(
  selection: KubeconfigSelection,
  target: { branch: string; revision?: number; name?: string; use: boolean },
): { file: string; context: string; server: string } {
  const file = kubeconfigFile(selection);
  if (!existsSync(file)) throw new Error(`kubeconfig ${file} does not exist`);
  const document = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, any>;
  const contexts: Named[] = document.contexts ?? [];
  const clusters: Named[] = document.clusters ?? [];
  const baseName = selection.context ?? document['current-context'];
  const base = contexts.find((c) => c.name === baseName);
  if (!base) throw new Error(`context "${baseName ?? ''}" is not defined in ${file}`);
  const baseCluster = clusters.find((c) => c.name === base.context?.cluster);
  if (!baseCluster?.cluster?.server)
    throw new Error(`context "${baseName}" has no cluster with a server in ${file}`);
  const root = new URL(baseCluster.cluster.server);
  const path = `/branches/${encodeURIComponent(target.branch)}${target.revision !== undefined ? `/revisions/${target.revision}` : ''}`;
  const server = `${root.protocol}//${root.host}${path}`;
  const name =
    target.name ?? `kubetime-${target.branch}${target.revision !== undefined ? `-r${target.revision}` : ''}`;
  const cluster: Named = { name, cluster: { ...baseCluster.cluster, server } };
  const context: Named = { name, context: { ...base.context, cluster: name } };
  document.clusters = [...clusters.filter((c) => c.name !== name), cluster];
  document.contexts = [...contexts.filter((c) => c.name !== name), context];
  if (target.use) document['current-context'] = name;
  writeFileSync(file, stringify(document), { mode: 0o600 });
  return { file, context: name, server };
}
