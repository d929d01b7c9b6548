import { randomUUID } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import { parseAllDocuments } from 'yaml';
import {
  applyPatch,
  decodeKubernetesProtobuf,
  formatLabelSelector,
  Errors,
  groupVersion,
  isKubernetesProtobuf,
  KubeObject,
  OpenApiCatalog,
  PatchType,
  renderTable,
  ResourceType,
  StatusError,
  storageKeyPrefix,
  storageTypeOf,
  successStatus,
  SWAGGER_PROTOBUF_CONTENT_TYPE,
  SWAGGER_PROTOBUF_MEDIA_TYPE,
} from '@kubetime/api-machinery';
import type { EventStore } from '@kubetime/event-store';
import { Subscription } from 'rxjs';
import { Authenticator, Authorizer, forbidden, ResourceAttributes } from './auth';
import type { RequestContext } from './context';
import {
  AGGREGATED_DISCOVERY_V2,
  AGGREGATED_DISCOVERY_V2BETA1,
  aggregatedDiscovery,
  apiGroupDocument,
  apiGroupList,
  legacyApiVersions,
  resourceList,
  VERSION_INFO,
} from './discovery';
import { parseResourcePath, ResourceRequest } from './request-info';
import { DeleteOptions, parseRevision, ResourceStore, translate } from './resource-store';
import { podLogRefusal } from './pod-logs';
import { handleReview } from './reviews';
import { startWatch, WatchEvent } from './watch';

export const TABLE_MEDIA_TYPE = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const PATCH_TYPES: PatchType[] = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];
const BODY_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

export interface ApiMetrics {
  observe(verb: string, resource: string, code: number, seconds: number): void;
  watchOpened(): void;
  watchClosed(): void;
}

export interface ApiServerOptions {
  events: EventStore;
  authenticator: Authenticator;
  openapi: OpenApiCatalog;
  maxBodyBytes: number;
  serverAddress: string;
  metrics?: ApiMetrics;
  now?: () => Date;
  /** Longest a watch without timeoutSeconds stays open; upstream picks 30-60 minutes. */
  watchLifetimeSeconds?: () => number;
  bookmarkIntervalMs?: number;
}

interface OpenWatch {
  subscription?: Subscription;
  close(): void;
}

/**
 * The Kubernetes REST surface over HTTP: decodes bodies (JSON, YAML, protobuf), authenticates,
 * authorizes, routes to the resource store, and encodes answers (objects, lists, Tables, watch
 * streams, Status errors). Everything Kubernetes-specific about objects lives in ResourceStore.
 */
export class ApiServer {
  readonly resources: ResourceStore;
  private readonly authorizer: Authorizer;
  private readonly watches = new Set<OpenWatch>();
  private readonly now: () => Date;

  constructor(private readonly options: ApiServerOptions) {
    this.resources = new ResourceStore(options.events);
    this.authorizer = new Authorizer(options.events);
    this.now = options.now ?? (() => new Date());
  }

  /** Ends every open watch cleanly (a graceful shutdown), so clients see a normal end of stream. */
  closeWatches(): void {
    for (const watch of [...this.watches]) watch.close();
  }

  get openWatchCount(): number {
    return this.watches.size;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'https://kubetime.local');
    const scope = branchScope(url);
    let verb = (req.method ?? 'GET').toLowerCase();
    let resourceLabel = '';
    try {
      if (PUBLIC_PATHS.has(url.pathname) && req.method === 'GET') {
        if (url.pathname === '/version') return this.json(res, 200, VERSION_INFO);
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        return void res.end('ok');
      }
      const user = this.options.authenticator.authenticate(req.headers.authorization, this.now());
      if (!user) throw Errors.unauthorized();
      const ctx: RequestContext = {
        user,
        branch: scope.branch,
        revision: scope.revision,
        now: this.now(),
        userAgent: req.headers['user-agent'],
        requestId: (req.headers['audit-id'] as string) ?? randomUUID(),
      };
      res.setHeader('Audit-Id', ctx.requestId!);
      const resourceRequest = parseResourcePath(url.pathname);
      if (!resourceRequest) {
        if (req.method !== 'GET') throw Errors.methodNotAllowed();
        if (!(await this.authorizer.authorizePath(user, ctx.branch, url.pathname, 'get'))) {
          throw Errors.forbidden(`forbidden: User "${user.username}" cannot get path "${url.pathname}"`);
        }
        await this.serveNonResource(req, res, url);
        return;
      }
      resourceLabel = resourceRequest.type.resource;
      verb = kubernetesVerb(req.method ?? 'GET', resourceRequest, url);
      const attrs: ResourceAttributes = {
        verb,
        group: resourceRequest.type.group,
        resource: resourceRequest.type.resource,
        subresource: resourceRequest.subresource,
        namespace: resourceRequest.namespace,
        name: resourceRequest.name,
      };
      const decision = await this.authorizer.authorizeResource(user, ctx.branch, attrs);
      if (!decision.allowed) throw forbidden(user, attrs);
      if (ctx.revision !== undefined && !['get', 'list', 'watch'].includes(verb)) {
        throw Errors.methodNotAllowed(
          `revision ${ctx.revision} of branch ${ctx.branch} is read-only: write to /branches/${ctx.branch}/ instead`,
        );
      }
      if (verb === 'watch') {
        await this.watch(req, res, url, ctx, resourceRequest);
        return;
      }
      await this.serveResource(req, res, url, ctx, resourceRequest, verb);
    } catch (error) {
      this.fail(res, error);
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (verb !== 'watch')
        this.options.metrics?.observe(verb.toUpperCase(), resourceLabel, res.statusCode, seconds);
    }
  }

  private async serveNonResource(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '');
    const accept = req.headers.accept ?? '';
    const aggregated = accept.includes('as=APIGroupDiscoveryList')
      ? accept.includes('v=v2;') || accept.includes('v=v2,') || accept.endsWith('v=v2')
        ? AGGREGATED_DISCOVERY_V2
        : accept.includes('v=v2beta1')
          ? AGGREGATED_DISCOVERY_V2BETA1
          : undefined
      : undefined;
    if (path === '/api' || path === '/apis') {
      if (aggregated) {
        const apiVersion =
          aggregated === AGGREGATED_DISCOVERY_V2 ? 'apidiscovery.k8s.io/v2' : 'apidiscovery.k8s.io/v2beta1';
        return this.json(res, 200, aggregatedDiscovery(path === '/api', apiVersion), aggregated);
      }
      return this.json(
        res,
        200,
        path === '/api' ? legacyApiVersions(this.options.serverAddress) : apiGroupList(),
      );
    }
    let m = /^\/api\/([^/]+)$/.exec(path);
    if (m) {
      const list = resourceList('', m[1]);
      if (list) return this.json(res, 200, list);
    }
    m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    if (m) {
      const list = resourceList(m[1], m[2]);
      if (list) return this.json(res, 200, list);
    }
    m = /^\/apis\/([^/]+)$/.exec(path);
    if (m) {
      const group = apiGroupDocument(m[1]);
      if (group) return this.json(res, 200, group);
    }
    if (path === '/openapi/v2') {
      const swagger = this.options.openapi.swagger();
      if (!(req.headers.accept ?? '').includes(SWAGGER_PROTOBUF_MEDIA_TYPE))
        return this.json(res, 200, swagger.json);
      res.writeHead(200, {
        'Content-Type': SWAGGER_PROTOBUF_CONTENT_TYPE,
        'Content-Length': swagger.protobuf.length,
      });
      res.end(swagger.protobuf);
      return;
    }
    if (path === '/openapi/v3') return this.json(res, 200, this.options.openapi.root());
    m = /^\/openapi\/v3\/(.+)$/.exec(path);
    if (m) {
      const document = this.options.openapi.document(m[1]);
      if (document) {
        res.setHeader(
          'Cache-Control',
          url.searchParams.has('hash') ? 'public, immutable' : 'no-cache, private',
        );
        return this.json(res, 200, document);
      }
    }
    throw Errors.pathNotFound();
  }

  private async serveResource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    ctx: RequestContext,
    r: ResourceRequest,
    verb: string,
  ): Promise<void> {
    const q = url.searchParams;
    const type = r.type;
    const dryRun = dryRunOf(q);
    if (type.virtual || (r.subresource && ['token', 'eviction', 'binding'].includes(r.subresource))) {
      if (verb !== 'create') throw Errors.methodNotAllowed();
      const body = await this.readObject(req, res, type, r.subresource !== undefined);
      const answer = await handleReview({
        ctx,
        request: r,
        body,
        resources: this.resources,
        authorizer: this.authorizer,
        authenticator: this.options.authenticator,
        dryRun,
      });
      return this.json(res, answer.code, answer.body);
    }
    if (r.subresource === 'scale') return this.serveScale(req, res, ctx, r, verb, dryRun, q);
    if (r.subresource === 'log') {
      const pod = await this.resources.get(ctx, type, r.namespace, r.name!);
      const refusal = podLogRefusal(pod, {
        container: q.get('container') || undefined,
        previous: q.get('previous') === 'true',
      });
      if (refusal) throw refusal;
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      return void res.end('');
    }
    switch (verb) {
      case 'get': {
        const object = await this.resources.get(
          ctx,
          type,
          r.namespace,
          r.name!,
          revisionParam(q) ?? ctx.revision,
        );
        return this.answerObjects(req, res, ctx, type, [object], undefined, true);
      }
      case 'list': {
        const result = await this.resources.list(ctx, type, r.namespace, {
          labelSelector: q.get('labelSelector'),
          fieldSelector: q.get('fieldSelector'),
          limit: q.has('limit') ? Number(q.get('limit')) || undefined : undefined,
          continueToken: q.get('continue'),
          ...(ctx.revision !== undefined && !q.get('resourceVersion')
            ? { resourceVersion: String(ctx.revision), resourceVersionMatch: 'Exact' }
            : {
                resourceVersion: q.get('resourceVersion'),
                resourceVersionMatch: q.get('resourceVersionMatch'),
              }),
        });
        return this.answerList(
          req,
          res,
          ctx,
          type,
          result.items,
          result.revision,
          result.continueToken,
          result.remainingItemCount,
          q,
        );
      }
      case 'create': {
        const body = await this.readObject(req, res, type, false, q);
        const object = await this.resources.create(ctx, type, r.namespace, body, {
          dryRun,
          fieldManager: fieldManagerOf(q, req),
        });
        return this.json(res, 201, object);
      }
      case 'update': {
        const body = await this.readObject(req, res, type, false, q);
        const object = await this.resources.update(ctx, type, r.namespace, r.name!, body, {
          dryRun,
          fieldManager: fieldManagerOf(q, req),
          subresource: r.subresource,
        });
        return this.json(res, 200, object);
      }
      case 'patch': {
        const patchType = patchTypeOf(req);
        const patch = await this.readPatch(req, patchType);
        if (patchType === 'application/apply-patch+yaml' || q.get('fieldValidation') === 'Strict')
          this.checkUnknownFields(res, type, patch, q, patchType);
        const { object, created } = await this.resources.patch(
          ctx,
          type,
          r.namespace,
          r.name!,
          patchType,
          patch,
          {
            dryRun,
            fieldManager:
              q.get('fieldManager') ??
              (patchType === 'application/apply-patch+yaml' ? undefined : defaultManager(req)),
            subresource: r.subresource,
            force: q.get('force') === 'true',
          },
        );
        return this.json(res, created ? 201 : 200, object);
      }
      case 'delete': {
        const options = await this.readDeleteOptions(req, q);
        const { object, deleted } = await this.resources.delete(ctx, type, r.namespace, r.name!, {
          ...options,
          dryRun,
        });
        if (!deleted || type.kind === 'Namespace') return this.json(res, 200, object);
        return this.json(
          res,
          200,
          successStatus(200, {
            name: r.name,
            group: type.group || undefined,
            kind: type.resource,
            uid: object.metadata.uid,
          }),
        );
      }
      case 'deletecollection': {
        const options = await this.readDeleteOptions(req, q);
        const result = await this.resources.list(ctx, type, r.namespace, {
          labelSelector: q.get('labelSelector'),
          fieldSelector: q.get('fieldSelector'),
        });
        const gone: KubeObject[] = [];
        for (const item of result.items) {
          try {
            gone.push(
              (
                await this.resources.delete(ctx, type, item.metadata.namespace, item.metadata.name!, {
                  ...options,
                  dryRun,
                })
              ).object,
            );
          } catch (error) {
            if (!(error instanceof StatusError && error.code === 404)) throw error;
          }
        }
        return this.json(res, 200, listOf(type, gone, result.revision));
      }
      default:
        throw Errors.methodNotAllowed();
    }
  }

  private async serveScale(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: RequestContext,
    r: ResourceRequest,
    verb: string,
    dryRun: boolean,
    q: URLSearchParams,
  ): Promise<void> {
    const toScale = (o: KubeObject): KubeObject => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: o.metadata.name,
        namespace: o.metadata.namespace,
        uid: o.metadata.uid,
        resourceVersion: o.metadata.resourceVersion,
        creationTimestamp: o.metadata.creationTimestamp,
      },
      spec: { replicas: o.spec?.replicas ?? 0 },
      status: { replicas: o.status?.replicas ?? 0, selector: formatLabelSelector(o.spec?.selector) },
    });
    if (verb === 'get')
      return this.json(res, 200, toScale(await this.resources.get(ctx, r.type, r.namespace, r.name!)));
    let desired: unknown;
    let expectedRv: string | undefined;
    if (verb === 'update') {
      const scale = await this.readJson(req);
      desired = (scale as KubeObject)?.spec?.replicas;
      expectedRv = (scale as KubeObject)?.metadata?.resourceVersion;
    } else if (verb === 'patch') {
      const patchType = patchTypeOf(req);
      const current = toScale(await this.resources.get(ctx, r.type, r.namespace, r.name!));
      const patched = applyPatch(
        'Scale',
        'autoscaling/v1',
        current,
        patchType as Exclude<PatchType, 'application/apply-patch+yaml'>,
        await this.readPatch(req, patchType),
      );
      desired = patched.spec?.replicas;
    } else throw Errors.methodNotAllowed();
    if (typeof desired !== 'number' || !Number.isInteger(desired) || desired < 0) {
      throw Errors.invalid('Scale', 'autoscaling', r.name!, [
        {
          reason: 'FieldValueInvalid',
          field: 'spec.replicas',
          message: `Invalid value: ${JSON.stringify(desired)}: must be greater than or equal to 0`,
        },
      ]);
    }
    const patch: KubeObject = {
      metadata: expectedRv ? { resourceVersion: expectedRv } : {},
      spec: { replicas: desired },
    };
    const { object } = await this.resources.patch(
      ctx,
      r.type,
      r.namespace,
      r.name!,
      'application/merge-patch+json',
      patch,
      {
        dryRun,
        fieldManager: q.get('fieldManager') ?? defaultManager(req),
        force: false,
      },
    );
    return this.json(res, 200, toScale(object));
  }

  private async watch(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    ctx: RequestContext,
    r: ResourceRequest,
  ): Promise<void> {
    const q = url.searchParams;
    const type = r.type;
    const rv = q.get('resourceVersion');
    const fromRevision = rv && rv !== '0' ? parseRevision(rv) : undefined;
    const asTable = wantsTable(req.headers.accept);
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const lifetime = q.has('timeoutSeconds')
      ? Number(q.get('timeoutSeconds'))
      : (this.options.watchLifetimeSeconds?.() ?? 1800 + Math.floor(Math.random() * 1800));
    const head = await this.options.events.branch(ctx.branch);
    let lastRevision = fromRevision ?? head.revision;
    let headersSent = false;
    res.writeHead(200, {
      'Content-Type': asTable ? TABLE_MEDIA_TYPE : 'application/json',
      'Transfer-Encoding': 'chunked',
      'Cache-Control': 'no-cache, private',
    });
    // Clients such as client-node's informer wait for the response headers before they consider the
    // watch started; Node would hold them back until the first event.
    res.flushHeaders();
    const write = (event: WatchEvent) => {
      if (res.writableEnded) return;
      let object = event.object;
      if (event.object.metadata?.resourceVersion)
        lastRevision = Math.max(lastRevision, Number(event.object.metadata.resourceVersion));
      if (asTable && (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED')) {
        object = renderTable(type, [event.object], {
          now: this.now(),
          includeObject: includeObjectOf(q),
          noHeaders: headersSent,
          resourceVersion: event.object.metadata.resourceVersion,
        }) as KubeObject;
        headersSent = true;
      }
      res.write(JSON.stringify({ type: event.type, object }) + '\n');
    };
    const watch: OpenWatch = {
      close: () => {
        if (!res.writableEnded) {
          if (bookmarks) write(bookmark(type, lastRevision));
          res.end();
        }
        cleanup();
      },
    };
    this.watches.add(watch);
    this.options.metrics?.watchOpened();
    const timers = [
      setTimeout(() => watch.close(), Math.max(0, lifetime) * 1000),
      ...(bookmarks
        ? [
            setInterval(
              () => write(bookmark(type, Math.max(lastRevision, head.revision))),
              this.options.bookmarkIntervalMs ?? 60_000,
            ),
          ]
        : []),
    ];
    let cleaned = false;
    const cleanup = () => {
      if (cleaned) return;
      cleaned = true;
      timers.forEach((t) => clearTimeout(t as NodeJS.Timeout));
      watch.subscription?.unsubscribe();
      this.watches.delete(watch);
      this.options.metrics?.watchClosed();
    };
    req.on('close', cleanup);
    res.on('close', cleanup);
    const failWith = (error: unknown) => {
      const status = translateError(error);
      if (!res.writableEnded) {
        res.write(JSON.stringify({ type: 'ERROR', object: status.toStatus() }) + '\n');
        res.end();
      }
      cleanup();
    };
    try {
      watch.subscription = await translate(() =>
        startWatch(
          this.options.events,
          {
            branch: ctx.branch,
            type,
            prefix: storageKeyPrefix(storageTypeOf(type), r.namespace),
            fromRevision,
            initialRevision: ctx.revision,
            labelSelector: q.get('labelSelector'),
            fieldSelector: r.name
              ? [q.get('fieldSelector'), `metadata.name=${r.name}`].filter(Boolean).join(',')
              : q.get('fieldSelector'),
          },
          write,
          failWith,
        ),
      );
      if (cleaned) watch.subscription.unsubscribe();
    } catch (error) {
      failWith(error);
    }
  }

  private answerObjects(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: RequestContext,
    type: ResourceType,
    objects: KubeObject[],
    revision: number | undefined,
    single: boolean,
  ): void {
    if (wantsTable(req.headers.accept)) {
      const q = new URL(req.url ?? '/', 'https://x').searchParams;
      const table = renderTable(type, objects, {
        now: ctx.now,
        includeObject: includeObjectOf(q),
        resourceVersion: revision !== undefined ? String(revision) : objects[0]?.metadata.resourceVersion,
      });
      return this.json(res, 200, table, TABLE_MEDIA_TYPE);
    }
    return this.json(res, 200, single ? objects[0] : listOf(type, objects, revision ?? 0));
  }

  private answerList(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: RequestContext,
    type: ResourceType,
    items: KubeObject[],
    revision: number,
    continueToken: string | undefined,
    remaining: number | undefined,
    q: URLSearchParams,
  ): void {
    if (wantsTable(req.headers.accept)) {
      const table = renderTable(type, items, {
        now: ctx.now,
        includeObject: includeObjectOf(q),
        resourceVersion: String(revision),
        continueToken,
        remainingItemCount: remaining,
      });
      return this.json(res, 200, table, TABLE_MEDIA_TYPE);
    }
    const list = listOf(type, items, revision);
    if (continueToken) {
      list.metadata.continue = continueToken;
      list.metadata.remainingItemCount = remaining;
    }
    return this.json(res, 200, list);
  }

  private async readBody(req: IncomingMessage): Promise<Buffer> {
    const limit = this.options.maxBodyBytes;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      throw Errors.tooLarge(limit);
    }
    if (req.readableEnded) return Buffer.alloc(0);
    // Plain 'data'/'end' listeners: a stream's async iterator costs a promise and its bookkeeping per
    // chunk, which showed in profiles of small creates.
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size <= limit) return void chunks.push(chunk);
        // The rest is drained and dropped so the connection stays usable for the error answer.
        req.off('data', onData);
        req.resume();
        finish(Errors.tooLarge(limit));
      };
      const finish = (error?: unknown) => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', finish);
        req.off('close', onClose);
        if (error) reject(error);
        else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
      };
      const onEnd = () => finish();
      const onClose = () => finish(new Error('the client closed the connection before the body was read'));
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', finish);
      req.on('close', onClose);
    });
  }

  private async readJson(req: IncomingMessage): Promise<unknown> {
    const body = await this.readBody(req);
    const contentType = mediaType(req);
    return decodeStructured(body, contentType, [...BODY_TYPES]);
  }

  private async readObject(
    req: IncomingMessage,
    res: ServerResponse,
    type: ResourceType,
    subresourceBody: boolean,
    q?: URLSearchParams,
  ): Promise<KubeObject> {
    const value = await this.readJson(req);
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw Errors.badRequest('the request body must be a single object');
    const object = value as KubeObject;
    object.metadata = object.metadata ?? {};
    if (!subresourceBody) {
      const expected = groupVersion(type);
      if (object.apiVersion && object.apiVersion !== expected) {
        throw Errors.badRequest(
          `the API version in the data (${object.apiVersion}) does not match the expected API version (${expected})`,
        );
      }
      if (object.kind && object.kind !== type.kind) {
        throw Errors.badRequest(
          `the kind in the data (${object.kind}) does not match the expected kind (${type.kind})`,
        );
      }
      if (q) this.checkUnknownFields(res, type, object, q, 'application/json');
    }
    return object;
  }

  private checkUnknownFields(
    res: ServerResponse,
    type: ResourceType,
    body: unknown,
    q: URLSearchParams,
    contentType: string,
  ): void {
    const mode =
      q.get('fieldValidation') ?? (contentType === 'application/apply-patch+yaml' ? 'Strict' : 'Warn');
    if (mode === 'Ignore' || !body || typeof body !== 'object' || Array.isArray(body)) return;
    const unknown = this.options.openapi.unknownFields(groupVersion(type), type.kind, body, {
      strategicMergeDirectives: contentType === 'application/strategic-merge-patch+json',
    });
    if (!unknown.length) return;
    const fields = unknown.map((f) => f.replace(/^\./, ''));
    if (mode === 'Strict') {
      throw Errors.badRequest(
        `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: strict decoding error: ${fields.map((f) => `unknown field "${f}"`).join(', ')}`,
      );
    }
    if (mode === 'Warn')
      res.setHeader(
        'Warning',
        fields.map((f) => `299 - "unknown field \\"${f}\\""`),
      );
  }

  private async readPatch(req: IncomingMessage, patchType: PatchType): Promise<unknown> {
    const body = await this.readBody(req);
    if (patchType === 'application/apply-patch+yaml')
      return decodeStructured(body, 'application/yaml', PATCH_TYPES);
    return decodeStructured(body, 'application/json', PATCH_TYPES);
  }

  private async readDeleteOptions(
    req: IncomingMessage,
    q: URLSearchParams,
  ): Promise<Omit<DeleteOptions, 'dryRun'>> {
    const body = await this.readBody(req);
    const options: Record<string, any> = body.length
      ? ((decodeStructured(body, mediaType(req) || 'application/json', BODY_TYPES) as Record<string, any>) ??
        {})
      : {};
    if (q.has('gracePeriodSeconds')) options.gracePeriodSeconds = Number(q.get('gracePeriodSeconds'));
    if (q.has('propagationPolicy')) options.propagationPolicy = q.get('propagationPolicy');
    if (
      options.propagationPolicy &&
      !['Orphan', 'Background', 'Foreground'].includes(options.propagationPolicy)
    ) {
      throw Errors.badRequest(
        `propagationPolicy: Unsupported value: "${options.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`,
      );
    }
    if (options.orphanDependents === true && !options.propagationPolicy) options.propagationPolicy = 'Orphan';
    return {
      gracePeriodSeconds: options.gracePeriodSeconds,
      propagationPolicy: options.propagationPolicy,
      preconditions: options.preconditions,
    };
  }

  private json(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
    if (res.headersSent) return;
    const text = JSON.stringify(body);
    res.writeHead(code, {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': res.getHeader('Cache-Control') ?? 'no-cache, private',
    });
    res.end(text);
  }

  private fail(res: ServerResponse, error: unknown): void {
    const status = translateError(error);
    if (res.headersSent) {
      res.end();
      return;
    }
    this.json(res, status.code, status.toStatus());
  }
}

function translateError(error: unknown): StatusError {
  if (error instanceof StatusError) return error;
  if (error instanceof Error && error.name === 'RevisionCompacted') return Errors.gone(error.message);
  if (error instanceof Error && error.name === 'UnknownBranch') return Errors.pathNotFound();
  // A value sealed with a key that is no longer configured: say which key, never return garbage.
  if (error instanceof Error && error.name === 'EncryptionError') return Errors.internal(error.message);
  if (error instanceof Error && error.name === 'FutureRevision')
    return new StatusError(504, 'Timeout', `Too large resource version: ${error.message}`);
  // PostgreSQL's jsonb holds every JSON string except those with U+0000 or an unpaired surrogate
  // (untranslatable_character). An object body with one is kept as bytes by the event store; what
  // is recorded beside it (the request's metadata) cannot be, so such a write is refused.
  if ((error as { code?: string }).code === '22P05')
    return Errors.badRequest(
      `the write cannot be recorded: its request metadata contains a character PostgreSQL's jsonb does not hold (U+0000 or an unpaired surrogate): ${(error as Error).message}`,
    );
  const message = error instanceof Error ? error.message : String(error);
  return Errors.internal(message);
}

/**
 * `/branches/NAME/...` serves a branch's API and `/branches/NAME/revisions/R/...` that branch as of
 * revision R; the rest of the path is an ordinary Kubernetes path. Strips the prefix in place.
 */
function branchScope(url: URL): { branch: string; revision?: number } {
  const m = /^\/branches\/([^/]+)(?:\/revisions\/([^/]+))?(\/.*)?$/.exec(url.pathname);
  if (!m) return { branch: 'main' };
  url.pathname = m[3] ?? '/';
  return { branch: decodeURIComponent(m[1]), revision: m[2] === undefined ? undefined : parseRevision(m[2]) };
}

function kubernetesVerb(method: string, r: ResourceRequest, url: URL): string {
  const watch = r.legacyWatch || ['true', '1'].includes(url.searchParams.get('watch') ?? '');
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch) return 'watch';
      return r.name ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return r.name ? 'delete' : 'deletecollection';
    default:
      throw Errors.methodNotAllowed();
  }
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

function patchTypeOf(req: IncomingMessage): PatchType {
  const type = mediaType(req) as PatchType;
  if (!PATCH_TYPES.includes(type)) throw Errors.unsupportedMediaType(type, PATCH_TYPES);
  return type;
}

/** JSON, YAML (one document) or the k8s protobuf envelope into a plain value, or a 400/415 Status. */
export function decodeStructured(body: Buffer, contentType: string, accepted: string[]): unknown {
  if (contentType === 'application/vnd.kubernetes.protobuf' || isKubernetesProtobuf(body)) {
    return decodeKubernetesProtobuf(body);
  }
  const text = body.toString('utf8');
  if (!text.trim()) throw Errors.badRequest('the request body is empty');
  if (contentType === 'application/json' || contentType === '' || contentType.endsWith('+json')) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw Errors.badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
    }
  }
  if (
    contentType === 'application/yaml' ||
    contentType === 'application/apply-patch+yaml' ||
    contentType.endsWith('+yaml')
  ) {
    const documents = parseAllDocuments(text);
    const list = Array.isArray(documents) ? documents : [documents];
    const errors = list.flatMap((d) => d.errors);
    if (errors.length)
      throw Errors.badRequest(`error converting YAML to JSON: ${errors[0].message.split('\n')[0]}`);
    if (list.length !== 1)
      throw Errors.badRequest('error converting YAML to JSON: the body must hold exactly one YAML document');
    return list[0].toJS();
  }
  throw Errors.unsupportedMediaType(contentType, accepted);
}

function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

function includeObjectOf(q: URLSearchParams): 'None' | 'Metadata' | 'Object' {
  const v = q.get('includeObject');
  return v === 'Object' || v === 'None' ? v : 'Metadata';
}

function dryRunOf(q: URLSearchParams): boolean {
  const values = q.getAll('dryRun');
  for (const v of values)
    if (v !== 'All') throw Errors.badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  return values.length > 0;
}

function revisionParam(q: URLSearchParams): number | undefined {
  const rv = q.get('resourceVersion');
  return rv && rv !== '0' && q.get('resourceVersionMatch') === 'Exact' ? parseRevision(rv) : undefined;
}

function fieldManagerOf(q: URLSearchParams, req: IncomingMessage): string {
  return q.get('fieldManager') ?? defaultManager(req);
}

/** Without fieldManager, upstream names the manager after the user agent's program name. */
function defaultManager(req: IncomingMessage): string {
  return (req.headers['user-agent'] ?? 'unknown').split('/')[0] || 'unknown';
}

function listOf(
  type: ResourceType,
  items: KubeObject[],
  revision: number,
): KubeObject & { metadata: Record<string, unknown> } {
  return {
    kind: `${type.kind}List`,
    apiVersion: groupVersion(type),
    metadata: { resourceVersion: String(revision) },
    items: items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
  };
}

function bookmark(type: ResourceType, revision: number): WatchEvent {
  return {
    type: 'BOOKMARK',
    object: {
      kind: type.kind,
      apiVersion: groupVersion(type),
      metadata: { resourceVersion: String(revision), creationTimestamp: null },
    },
  };
}
