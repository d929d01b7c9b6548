import { Errors, findResourceType, KubeObject, successStatus } from '@kubetime/api-machinery';
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
