import {
  Errors,
  findResourceType,
  KubeObject,
  labelSelectorMatcher,
  StatusError,
  successStatus,
} from '@kubetime/api-machinery';
import type { Authenticator, Authorizer } from './auth';
import type { RequestContext } from './context';
import type { ResourceRequest } from './request-info';
import type { ResourceStore } from './resource-store';

export interface ReviewArgs {
  ctx: RequestContext;
  request: ResourceRequest;
  body: KubeObject;
  resources: ResourceStore;
  authorizer: Authorizer;
  authenticator: Authenticator;
  dryRun: boolean;
}

const DEFAULT_TOKEN_SECONDS = 3600;

/**
 * Create-only APIs that are answered, not stored: access reviews, whoami, token requests, and the
 * pod subresources that are really writes to the Pod (binding, eviction).
 */
export async function handleReview(args: ReviewArgs): Promise<{ code: number; body: unknown }> {
  const { ctx, request, body } = args;
  const echo = { ...body, metadata: { ...(body.metadata ?? {}), creationTimestamp: null } };
  switch (request.subresource ?? request.type.resource) {
    case 'selfsubjectaccessreviews':
    case 'subjectaccessreviews':
    case 'localsubjectaccessreviews': {
      const spec = body.spec ?? {};
      const user =
        request.type.resource === 'selfsubjectaccessreviews'
          ? ctx.user
          : { username: spec.user ?? '', groups: spec.groups ?? [] };
      let allowed: boolean;
      let reason = '';
      if (spec.nonResourceAttributes) {
        allowed = await args.authorizer.authorizePath(
          user,
          ctx.branch,
          spec.nonResourceAttributes.path ?? '',
          spec.nonResourceAttributes.verb ?? '',
        );
      } else {
        const a = spec.resourceAttributes ?? {};
        const decision = await args.authorizer.authorizeResource(user, ctx.branch, {
          verb: a.verb ?? '',
          group: a.group ?? '',
          resource: a.resource ?? '',
          subresource: a.subresource || undefined,
          namespace: a.namespace || undefined,
          name: a.name || undefined,
        });
        allowed = decision.allowed;
        reason = decision.reason;
      }
      return { code: 201, body: { ...echo, status: { allowed, ...(reason ? { reason } : {}) } } };
    }
    case 'selfsubjectrulesreviews': {
      const namespace = body.spec?.namespace;
      const full = ctx.user.groups.includes('system:masters');
      const rules = full
        ? [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]
        : await args.authorizer.rulesFor(ctx.user, ctx.branch, namespace);
      return {
        code: 201,
        body: {
          ...echo,
          status: {
            resourceRules: [
              ...rules
                .filter((r) => r.resources)
                .map((r) => ({
                  verbs: r.verbs,
                  apiGroups: r.apiGroups,
                  resources: r.resources,
                  ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
                })),
              {
                verbs: ['create'],
                apiGroups: ['authorization.k8s.io'],
                resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
              },
              { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
            ],
            nonResourceRules: [
              ...(full ? [{ verbs: ['*'], nonResourceURLs: ['*'] }] : []),
              {
                verbs: ['get'],
                nonResourceURLs: [
                  '/api',
                  '/api/*',
                  '/apis',
                  '/apis/*',
                  '/healthz',
                  '/livez',
                  '/openapi',
                  '/openapi/*',
                  '/readyz',
                  '/version',
                  '/version/',
                ],
              },
            ],
            incomplete: false,
          },
        },
      };
    }
    case 'selfsubjectreviews':
      return {
        code: 201,
        body: {
          ...echo,
          status: {
            userInfo: {
              username: ctx.user.username,
              ...(ctx.user.uid ? { uid: ctx.user.uid } : {}),
              groups: ctx.user.groups,
            },
          },
        },
      };
    case 'tokenreviews': {
      const user = args.authenticator.authenticate(`Bearer ${body.spec?.token ?? ''}`, ctx.now);
      return {
        code: 201,
        body: {
          ...echo,
          status: user
            ? { authenticated: true, user }
            : { authenticated: false, error: 'invalid bearer token' },
        },
      };
    }
    case 'token': {
      const saType = findResourceType('', 'v1', 'serviceaccounts')!;
      const sa = await args.resources.get(ctx, saType, request.namespace, request.name!);
      const seconds = Number(body.spec?.expirationSeconds ?? DEFAULT_TOKEN_SECONDS);
      if (!Number.isInteger(seconds) || seconds < 600) {
        throw Errors.invalid('TokenRequest', 'authentication.k8s.io', request.name!, [
          {
            reason: 'FieldValueInvalid',
            field: 'spec.expirationSeconds',
            message: `Invalid value: ${seconds}: may not specify a duration less than 10 minutes`,
          },
        ]);
      }
      const audiences: string[] = body.spec?.audiences?.length
        ? body.spec.audiences
        : ['https://kubernetes.default.svc.cluster.local'];
      const { token, expires } = args.authenticator.issueServiceAccountToken(
        request.namespace!,
        request.name!,
        sa.metadata.uid!,
        audiences,
        seconds,
        ctx.now,
      );
      return {
        code: 201,
        body: {
          kind: 'TokenRequest',
          apiVersion: 'authentication.k8s.io/v1',
          metadata: { name: request.name, namespace: request.namespace, creationTimestamp: null },
          spec: { audiences, expirationSeconds: seconds, boundObjectRef: body.spec?.boundObjectRef ?? null },
          status: { token, expirationTimestamp: expires.toISOString().replace(/\.\d{3}Z$/, 'Z') },
        },
      };
    }
    case 'binding':
    case 'bindings': {
      const podType = findResourceType('', 'v1', 'pods')!;
      const podName: string = request.name ?? body.metadata?.name ?? '';
      const node = body.target?.name;
      if (!node)
        throw Errors.invalid('Binding', '', podName ?? '', [
          { reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' },
        ]);
      const pod = await args.resources.get(ctx, podType, request.namespace, podName);
      if (pod.spec?.nodeName)
        throw Errors.conflict(
          podType,
          podName,
          `pod ${podName} is already assigned to node "${pod.spec.nodeName}"`,
        );
      const bound = { ...pod, spec: { ...pod.spec, nodeName: node } };
      if (!args.dryRun)
        await args.resources.appendWrite(
          ctx,
          podType,
          bound,
          'MODIFIED',
          Number(pod.metadata.resourceVersion),
          'create',
        );
      return { code: 201, body: successStatus(201) };
    }
    case 'eviction': {
      const podType = findResourceType('', 'v1', 'pods')!;
      const pod = await args.resources.get(ctx, podType, request.namespace, request.name!);
      await checkDisruptionBudget(args, pod);
      await args.resources.delete(ctx, podType, request.namespace, request.name!, {
        dryRun: args.dryRun,
        ...(body.deleteOptions ?? {}),
      });
      return { code: 201, body: successStatus(201) };
    }
    default:
      throw Errors.methodNotAllowed();
  }
}

/**
 * The eviction subresource's PodDisruptionBudget check. Pods that are finished, pending or already
 * deleting never count against a budget; a Ready pod may go only while the budget keeps at least one
 * healthy pod to spare, an unready one while the budget is met. Health is read from the pods at the
 * moment of the eviction, which is never stale.
 */
async function checkDisruptionBudget(args: ReviewArgs, pod: KubeObject): Promise<void> {
  const phase = pod.status?.phase;
  if (pod.metadata.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending')
    return;
  const pdbType = findResourceType('policy', 'v1', 'poddisruptionbudgets')!;
  const budgets = (await args.resources.list(args.ctx, pdbType, pod.metadata.namespace, {})).items.filter(
    (b) => labelSelectorMatcher(b.spec?.selector)(pod.metadata.labels),
  );
  if (budgets.length > 1) {
    throw new StatusError(
      500,
      'InternalError',
      'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
    );
  }
  if (!budgets.length) return;
  const budget = budgets[0];
  const { healthy, desired } = await budgetHealth(args, budget);
  const ready = isReady(pod);
  if (ready ? healthy - desired < 1 : healthy < desired) {
    throw Errors.tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", [
      {
        reason: 'DisruptionBudget',
        message: `The disruption budget ${budget.metadata.name} needs ${desired} healthy pods and has ${healthy} currently`,
      },
    ]);
  }
}

function isReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
  );
}

/** Healthy (Ready, not deleting, not finished) pods of a budget and how many it needs. */
async function budgetHealth(
  args: ReviewArgs,
  budget: KubeObject,
): Promise<{ healthy: number; desired: number }> {
  const podType = findResourceType('', 'v1', 'pods')!;
  const matches = labelSelectorMatcher(budget.spec?.selector);
  const pods = (await args.resources.list(args.ctx, podType, budget.metadata.namespace, {})).items.filter(
    (p) =>
      matches(p.metadata.labels) &&
      !p.metadata.deletionTimestamp &&
      p.status?.phase !== 'Succeeded' &&
      p.status?.phase !== 'Failed',
  );
  const healthy = pods.filter(isReady).length;
  const expected = pods.length;
  const count = (v: unknown) =>
    typeof v === 'string' && v.endsWith('%')
      ? Math.ceil((Number(v.slice(0, -1)) * expected) / 100)
      : Number(v);
  const desired =
    budget.spec?.minAvailable !== undefined
      ? count(budget.spec.minAvailable)
      : Math.max(0, expected - count(budget.spec?.maxUnavailable ?? 0));
  return { healthy, desired };
}
