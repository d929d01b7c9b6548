import { createHmac, timingSafeEqual } from 'crypto';
import { Errors, KubeObject } from '@kubetime/api-machinery';
import type { EventStore } from '@kubetime/event-store';
import type { UserInfo } from './context';

export const ADMIN: UserInfo = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };

export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/**
 * Bearer tokens: the generated admin token, and ServiceAccount tokens issued by TokenRequest,
 * which are HS256 JWTs signed with a server secret (a real cluster signs RS256 with the SA key;
 * nothing outside kubetime verifies these, so a shared secret is enough).
 */
export class Authenticator {
  constructor(
    private readonly adminToken: string,
    private readonly signingKey: Buffer,
  ) {}

  authenticate(authorization: string | undefined, now: Date): UserInfo | undefined {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) return undefined;
    const token = match[1];
    if (safeEqual(token, this.adminToken)) return ADMIN;
    const claims = this.verify(token);
    if (
      !claims ||
      typeof claims.sub !== 'string' ||
      (typeof claims.exp === 'number' && claims.exp * 1000 < now.getTime())
    ) {
      return undefined;
    }
    const namespace = claims.sub.split(':')[2];
    return {
      username: claims.sub,
      uid: claims.uid as string | undefined,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    };
  }

  issueServiceAccountToken(
    namespace: string,
    name: string,
    uid: string,
    audiences: string[],
    expirationSeconds: number,
    now: Date,
  ): { token: string; expires: Date } {
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + expirationSeconds;
    const header = b64({ alg: 'HS256', typ: 'JWT' });
    const payload = b64({
      iss: 'https://kubernetes.default.svc.cluster.local',
      sub: `system:serviceaccount:${namespace}:${name}`,
      aud: audiences,
      iat,
      exp,
      uid,
    });
    const signature = createHmac('sha256', this.signingKey)
      .update(`${header}.${payload}`)
      .digest('base64url');
    return { token: `${header}.${payload}.${signature}`, expires: new Date(exp * 1000) };
  }

  private verify(token: string): Record<string, unknown> | undefined {
    const [header, payload, signature] = token.split('.');
    if (!header || !payload || !signature) return undefined;
    const expected = createHmac('sha256', this.signingKey).update(`${header}.${payload}`).digest('base64url');
    if (!safeEqual(signature, expected)) return undefined;
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
  }
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/**
 * RBAC as kube-apiserver evaluates it: system:masters may do anything; everyone authenticated may
 * read discovery and ask about themselves; the rest comes from (Cluster)RoleBindings on the branch.
 */
export class Authorizer {
  constructor(private readonly events: EventStore) {}

  async authorizeResource(
    user: UserInfo,
    branch: string,
    attrs: ResourceAttributes,
  ): Promise<{ allowed: boolean; reason: string }> {
    if (user.groups.includes('system:masters')) return { allowed: true, reason: '' };
    if (
      attrs.verb === 'create' &&
      ['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'selfsubjectreviews'].includes(attrs.resource)
    ) {
      return { allowed: true, reason: '' };
    }
    const rules = await this.rulesFor(user, branch, attrs.namespace);
    const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    const allowed = rules.some(
      (r) =>
        matchesAny(r.verbs, attrs.verb) &&
        matchesAny(r.apiGroups, attrs.group) &&
        matchesAny(r.resources, resource) &&
        (!r.resourceNames?.length || (attrs.name !== undefined && r.resourceNames.includes(attrs.name))),
    );
    return { allowed, reason: allowed ? 'RBAC: allowed by a role binding' : '' };
  }

  async authorizePath(user: UserInfo, branch: string, path: string, verb: string): Promise<boolean> {
    if (user.groups.includes('system:masters')) return true;
    if (verb === 'get' && /^\/(api|apis|version|openapi|healthz|livez|readyz)(\/|$)/.test(path)) return true;
    const rules = await this.rulesFor(user, branch, undefined);
    return rules.some(
      (r) =>
        matchesAny(r.verbs, verb) &&
        (r.nonResourceURLs ?? []).some(
          (u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))),
        ),
    );
  }

  async rulesFor(user: UserInfo, branch: string, namespace: string | undefined): Promise<PolicyRule[]> {
    const rules: PolicyRule[] = [];
    const bindings = (await this.events.list(branch, '/registry/clusterrolebindings/')).items.map(
      (o) => o.object,
    );
    if (namespace)
      bindings.push(
        ...(await this.events.list(branch, `/registry/rolebindings/${namespace}/`)).items.map(
          (o) => o.object,
        ),
      );
    for (const binding of bindings) {
      if (!(binding.subjects ?? []).some((s: KubeObject) => subjectMatches(s, user))) continue;
      const ref = binding.roleRef ?? {};
      const key =
        ref.kind === 'ClusterRole'
          ? `/registry/clusterroles/${ref.name}`
          : `/registry/roles/${binding.metadata.namespace}/${ref.name}`;
      const role = await this.events.get(branch, key);
      rules.push(...((role?.object.rules as PolicyRule[]) ?? []));
    }
    return rules;
  }
}

function matchesAny(list: string[] | undefined, value: string): boolean {
  return (list ?? []).some((v) => v === '*' || v === value);
}

function subjectMatches(subject: Record<string, any>, user: UserInfo): boolean {
  if (subject.kind === 'User') return subject.name === user.username;
  if (subject.kind === 'Group') return user.groups.includes(subject.name);
  if (subject.kind === 'ServiceAccount')
    return user.username === `system:serviceaccount:${subject.namespace}:${subject.name}`;
  return false;
}

export function forbidden(user: UserInfo, attrs: ResourceAttributes): Error {
  const where = attrs.namespace ? ` in the namespace "${attrs.namespace}"` : '';
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const named = attrs.name ? ` "${attrs.name}"` : '';
  return Errors.forbidden(
    `${resource}${named} is forbidden: User "${user.username}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.group}"${where}`,
    { name: attrs.name, group: attrs.group || undefined, kind: attrs.resource },
  );
}
