import { existsSync, readFileSync } from 'fs';
import { mkdir } from 'fs/promises';
import { homedir } from 'os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'path';
import { parse, stringify } from 'yaml';
import { SECRET_FILE_MODE, writeFileAtomically } from './files';

export const KUBECONFIG_FILE = 'kubeconfig';
const ENTRY_NAME = 'kubetime';

export interface KubeconfigTarget {
  /** e.g. https://127.0.0.1:6443 */
  server: string;
  caPem: string;
  token: string;
}

export interface ClusterConnection {
  server: string;
  caPem?: string;
  token?: string;
  insecure?: boolean;
}

export interface ReadKubeconfigOptions {
  /** Like `kubectl --kubeconfig`: this file only, which must exist. */
  kubeconfig?: string;
  /** Like `kubectl --context`; defaults to the merged current-context. */
  context?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Writes `<dataDir>/kubeconfig` for the admin user. It carries the bearer token, so it is private to
 * the owner; the CA is embedded so kubectl verifies the server without extra files.
 */
export async function writeKubeconfig(dataDir: string, target: KubeconfigTarget): Promise<string> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, KUBECONFIG_FILE);
  const document = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: ENTRY_NAME,
        cluster: {
          server: target.server,
          'certificate-authority-data': Buffer.from(target.caPem).toString('base64'),
        },
      },
    ],
    users: [{ name: ENTRY_NAME, user: { token: target.token } }],
    contexts: [{ name: ENTRY_NAME, context: { cluster: ENTRY_NAME, user: ENTRY_NAME } }],
    'current-context': ENTRY_NAME,
    preferences: {},
  };
  await writeFileAtomically(path, stringify(document), SECRET_FILE_MODE);
  return path;
}

interface NamedEntry {
  name?: unknown;
  [field: string]: unknown;
}

/** One named cluster, user or context, remembering which file it came from for relative paths. */
interface Located {
  fields: Record<string, unknown>;
  file: string;
}

interface MergedKubeconfig {
  currentContext?: string;
  clusters: Map<string, Located>;
  users: Map<string, Located>;
  contexts: Map<string, Located>;
}

/**
 * Resolves the server, CA and token the way kubectl does: `--kubeconfig` alone if given, otherwise
 * every file in KUBECONFIG (missing ones skipped, the first definition of a name winning), otherwise
 * `~/.kube/config`.
 */
export function readKubeconfig(opts: ReadKubeconfigOptions = {}): ClusterConnection {
  const env = opts.env ?? process.env;
  const files = kubeconfigFiles(opts.kubeconfig, env);
  const merged = mergeKubeconfigs(files);
  const contextName = opts.context ?? merged.currentContext;
  if (!contextName) {
    throw new Error(`no context chosen: pass --context or set current-context in ${files.join(delimiter)}`);
  }
  const context = merged.contexts.get(contextName);
  if (!context) throw new Error(`context "${contextName}" does not exist in ${files.join(delimiter)}`);
  const clusterName = stringField(context.fields, 'cluster');
  const cluster = clusterName === undefined ? undefined : merged.clusters.get(clusterName);
  if (!cluster)
    throw new Error(`context "${contextName}" names cluster "${clusterName ?? ''}", which does not exist`);
  const server = stringField(cluster.fields, 'server');
  if (!server) throw new Error(`cluster "${clusterName}" has no server`);

  const connection: ClusterConnection = { server };
  const caData = stringField(cluster.fields, 'certificate-authority-data');
  const caFile = stringField(cluster.fields, 'certificate-authority');
  if (caData) connection.caPem = Buffer.from(caData, 'base64').toString('utf8');
  else if (caFile) connection.caPem = readFileSync(relativeTo(cluster.file, caFile), 'utf8');
  if (cluster.fields['insecure-skip-tls-verify'] === true) connection.insecure = true;

  const userName = stringField(context.fields, 'user');
  const user = userName === undefined ? undefined : merged.users.get(userName);
  if (user) {
    const token = stringField(user.fields, 'token');
    const tokenFile = stringField(user.fields, 'tokenFile');
    if (token) connection.token = token;
    else if (tokenFile) connection.token = readFileSync(relativeTo(user.file, tokenFile), 'utf8').trim();
  }
  return connection;
}

function kubeconfigFiles(explicit: string | undefined, env: NodeJS.ProcessEnv): string[] {
  if (explicit) {
    const path = resolve(explicit);
    if (!existsSync(path)) throw new Error(`kubeconfig ${path} does not exist`);
    return [path];
  }
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((entry) => entry !== '');
  if (listed.length > 0) {
    const present = [...new Set(listed.map((entry) => resolve(entry)))].filter((path) => existsSync(path));
    if (present.length === 0)
      throw new Error(`none of the files in KUBECONFIG exist: ${listed.join(delimiter)}`);
    return present;
  }
  const fallback = join(env.HOME || homedir(), '.kube', 'config');
  if (!existsSync(fallback)) throw new Error(`no kubeconfig: set KUBECONFIG or create ${fallback}`);
  return [fallback];
}

function mergeKubeconfigs(files: string[]): MergedKubeconfig {
  const merged: MergedKubeconfig = { clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const file of files) {
    const document = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
    if (merged.currentContext === undefined) merged.currentContext = stringField(document, 'current-context');
    addEntries(merged.clusters, document.clusters, 'cluster', file);
    addEntries(merged.users, document.users, 'user', file);
    addEntries(merged.contexts, document.contexts, 'context', file);
  }
  return merged;
}

function addEntries(target: Map<string, Located>, list: unknown, field: string, file: string): void {
  if (!Array.isArray(list)) return;
  for (const entry of list as NamedEntry[]) {
    const fields = entry?.[field];
    if (
      typeof entry?.name !== 'string' ||
      target.has(entry.name) ||
      typeof fields !== 'object' ||
      fields === null
    ) {
      continue;
    }
    target.set(entry.name, { fields: fields as Record<string, unknown>, file });
  }
}

function stringField(fields: Record<string, unknown>, name: string): string | undefined {
  const value = fields[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** kubectl resolves relative paths in a kubeconfig against the directory of the file they appear in. */
function relativeTo(file: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(file), path);
}
