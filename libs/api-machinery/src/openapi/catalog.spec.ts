import { parse } from 'yaml';
import { RESOURCE_TYPES, servedGroupVersions } from '../registry';
import { OpenApiCatalog, groupVersionPath } from './catalog';
import { Operation, PathItem } from './operations';
import { referencedName, Schema } from './schema';

const catalog = OpenApiCatalog.load();

/** Walks a dotted field path the way kubectl explain does: through $ref, allOf, items and maps. */
function fieldSchema(documentPath: string, kindSchema: string, fieldPath: string): Schema | undefined {
  const schemas = catalog.document(documentPath)!.components.schemas;
  const resolve = (schema: Schema): Schema => {
    const name = referencedName(schema);
    return name ? resolve(schemas[name]) : schema;
  };
  let current: Schema | undefined = schemas[kindSchema];
  for (const field of fieldPath.split('.').filter(Boolean)) {
    let resolved = resolve(current!);
    while (resolved.items) resolved = resolve(resolved.items);
    current = resolved.properties?.[field];
    if (!current) return undefined;
  }
  return current;
}

function operations(item: PathItem): Operation[] {
  return (['get', 'put', 'post', 'patch', 'delete'] as const).flatMap((verb) =>
    item[verb] ? [item[verb]!] : [],
  );
}

describe('OpenApiCatalog root', () => {
  it('lists every served group-version under a hashed, server-relative URL', () => {
    const paths = catalog.root().paths;
    const expected = servedGroupVersions().flatMap(({ group, versions }) =>
      versions.map((version) => groupVersionPath({ group, version })),
    );
    expect(Object.keys(paths).sort()).toEqual(expected.sort());
    expect(paths['api/v1'].serverRelativeURL).toMatch(/^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{16}$/);
    expect(paths['apis/apps/v1'].serverRelativeURL).toMatch(
      /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{16}$/,
    );
  });

  it('gives each document its own hash and is built only once', () => {
    const hashes = Object.values(catalog.root().paths).map((p) => p.serverRelativeURL.split('hash=')[1]);
    expect(new Set(hashes).size).toBe(hashes.length);
    expect(OpenApiCatalog.load()).toBe(catalog);
  });

  it('has no document for group-versions it does not serve', () => {
    expect(catalog.document('apis/apps/v1beta1')).toBeUndefined();
    expect(catalog.document('apis/bogus.example.com/v1')).toBeUndefined();
    expect(catalog.document('')).toBeUndefined();
  });
});

describe('group-version documents', () => {
  it('are OpenAPI 3.0 documents naming the Kubernetes release', () => {
    const doc = catalog.document('apis/apps/v1')!;
    expect(doc.openapi).toBe('3.0.0');
    expect(doc.info).toEqual({ title: 'Kubernetes', version: 'v1.32.0' });
  });

  it.each(
    RESOURCE_TYPES.filter((t) => t.verbs.includes('patch')).map((t) => [
      `${t.resource}.${t.group || 'core'}/${t.version}`,
      t,
    ]),
  )('%s has a PATCH on its object path tagged with its GVK that takes fieldValidation', (_, type) => {
    const doc = catalog.document(groupVersionPath(type))!;
    const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
    const path = `${base}${type.namespaced ? '/namespaces/{namespace}' : ''}/${type.resource}/{name}`;
    const patch = doc.paths[path]?.patch;
    expect(patch).toBeDefined();
    expect(patch!['x-kubernetes-group-version-kind']).toEqual({
      group: type.group,
      version: type.version,
      kind: type.kind,
    });
    const queryParameters = patch!.parameters.filter((p) => p.in === 'query').map((p) => p.name);
    expect(queryParameters).toEqual(
      expect.arrayContaining(['fieldValidation', 'fieldManager', 'dryRun', 'force']),
    );
    expect(patch!.requestBody).toBeUndefined();
  });

  it('offers review kinds, which can only be created, a POST that takes fieldValidation', () => {
    const doc = catalog.document('apis/authorization.k8s.io/v1')!;
    const post = doc.paths['/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'].post!;
    expect(post['x-kubernetes-group-version-kind']).toEqual({
      group: 'authorization.k8s.io',
      version: 'v1',
      kind: 'SelfSubjectAccessReview',
    });
    expect(post.parameters.map((p) => p.name)).toContain('fieldValidation');
    expect(doc.paths['/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/{name}']).toBeUndefined();
  });

  it('tags subresource operations with the kind they speak', () => {
    const doc = catalog.document('apis/apps/v1')!;
    const scale = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'].patch!;
    expect(scale['x-kubernetes-group-version-kind']).toEqual({
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
    });
    expect(doc.components.schemas['io.k8s.api.autoscaling.v1.Scale']).toBeDefined();
  });

  it('gives operations unique ids and resolvable references', () => {
    for (const [path] of Object.entries(catalog.root().paths)) {
      const doc = catalog.document(path)!;
      const ids = Object.values(doc.paths)
        .flatMap(operations)
        .map((op) => op.operationId);
      expect(new Set(ids).size).toBe(ids.length);
      const json = JSON.stringify(doc);
      for (const [, name] of json.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
        expect(doc.components.schemas[name]).toBeDefined();
      }
    }
  });
});

describe('schemas for kubectl explain', () => {
  it('tags every served kind schema with an x-kubernetes-group-version-kind array', () => {
    for (const type of RESOURCE_TYPES) {
      const doc = catalog.document(groupVersionPath(type))!;
      const tagged = Object.values(doc.components.schemas).filter((schema) =>
        schema['x-kubernetes-group-version-kind']?.some(
          (gvk) => gvk.group === type.group && gvk.version === type.version && gvk.kind === type.kind,
        ),
      );
      expect(tagged).toHaveLength(1);
      expect(tagged[0].description).toBeTruthy();
      expect(tagged[0].properties?.metadata).toBeDefined();
    }
  });

  it('reaches deployment.spec.strategy.rollingUpdate.maxSurge with descriptions all the way', () => {
    const root = 'io.k8s.api.apps.v1.Deployment';
    for (const path of [
      'spec',
      'spec.strategy',
      'spec.strategy.rollingUpdate',
      'spec.strategy.rollingUpdate.maxSurge',
    ]) {
      expect(fieldSchema('apis/apps/v1', root, path)?.description).toBeTruthy();
    }
    const strategy = fieldSchema('apis/apps/v1', root, 'spec.strategy')!;
    expect(strategy.allOf).toEqual([{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy' }]);
    const maxSurge = fieldSchema('apis/apps/v1', root, 'spec.strategy.rollingUpdate.maxSurge')!;
    expect(referencedName(maxSurge)).toBe('io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    expect(
      catalog.document('apis/apps/v1')!.components.schemas['io.k8s.apimachinery.pkg.util.intstr.IntOrString'],
    ).toMatchObject({
      format: 'int-or-string',
      oneOf: [{ type: 'integer' }, { type: 'string' }],
    });
    expect(fieldSchema('apis/apps/v1', root, 'spec.strategy.rollingUpdate.bogus')).toBeUndefined();
  });

  it('describes pods.spec.containers as a list merged by name', () => {
    const containers = fieldSchema('api/v1', 'io.k8s.api.core.v1.Pod', 'spec.containers')!;
    expect(containers).toMatchObject({
      type: 'array',
      items: { $ref: '#/components/schemas/io.k8s.api.core.v1.Container' },
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    });
    expect(containers.description).toBeTruthy();
    const container = catalog.document('api/v1')!.components.schemas['io.k8s.api.core.v1.Container'];
    expect(container.required).toEqual(['name']);
    expect(container.properties!.ports['x-kubernetes-list-map-keys']).toEqual(['containerPort', 'protocol']);
    expect(container.properties!.image.description).toBeTruthy();
  });

  it('writes timestamps as strings and quantities as either form, each with its description', () => {
    const schemas = catalog.document('api/v1')!.components.schemas;
    expect(schemas['io.k8s.apimachinery.pkg.apis.meta.v1.Time']).toMatchObject({
      type: 'string',
      format: 'date-time',
    });
    const quantity = schemas['io.k8s.apimachinery.pkg.api.resource.Quantity'];
    expect(quantity.oneOf).toEqual([{ type: 'string' }, { type: 'number' }]);
    expect(quantity.type).toBeUndefined();
    expect(quantity.description).toMatch(/fixed-point/);
  });
});

describe('unknownFields', () => {
  const deployment = () => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'hostname-deployment',
      labels: { app: 'webserver' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'apps/v1',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:spec': { 'f:replicas': {} } },
        },
      ],
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'webserver' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
      template: {
        metadata: { name: 'my-webserver', labels: { app: 'webserver' } },
        spec: {
          containers: [
            {
              name: 'my-webserver',
              image: 'alicek106/rr-test:echo-hostname',
              ports: [{ containerPort: 80 }],
              resources: { limits: { cpu: 1, memory: '128Mi' } },
            },
          ],
        },
      },
    },
    status: { replicas: 3, conditions: [{ type: 'Available', status: 'True' }] },
  });

  it('accepts the Deployment, Service and Pod manifests of the study notes', () => {
    const manifests = parse(`
apiVersion: v1
kind: Pod
metadata:
  name: my-nginx-pod
spec:
  containers:
  - name: my-nginx-container
    image: nginx:latest
    ports:
    - containerPort: 80
      protocol: TCP
`);
    expect(catalog.unknownFields('v1', 'Pod', manifests)).toEqual([]);
    const services = [
      {
        type: 'ClusterIP',
        ports: [{ name: 'web-port', port: 8080, targetPort: 80 }],
        selector: { app: 'webserver' },
      },
      {
        type: 'NodePort',
        ports: [{ name: 'web-port', port: 8080, targetPort: 'http' }],
        sessionAffinity: 'ClientIP',
      },
      { type: 'ExternalName', externalName: 'my.database.com' },
    ];
    for (const spec of services) {
      expect(
        catalog.unknownFields('v1', 'Service', {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 's' },
          spec,
        }),
      ).toEqual([]);
    }
    expect(catalog.unknownFields('apps/v1', 'Deployment', deployment())).toEqual([]);
  });

  it('finds an unknown field deep in a list', () => {
    const object = deployment();
    (object.spec.template.spec.containers[0] as Record<string, unknown>).bogus = true;
    expect(catalog.unknownFields('apps/v1', 'Deployment', object)).toEqual([
      '.spec.template.spec.containers[0].bogus',
    ]);
  });

  it('finds every unknown field, at the top, in spec and in metadata', () => {
    const object = {
      ...deployment(),
      extra: 1,
      metadata: { name: 'x', colour: 'red' },
      spec: { ...deployment().spec, bogusField: 'x' },
    };
    expect(catalog.unknownFields('apps/v1', 'Deployment', object).sort()).toEqual([
      '.extra',
      '.metadata.colour',
      '.spec.bogusField',
    ]);
  });

  it('checks the values of maps whose values have a schema', () => {
    const configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { 'a.conf': 'x' },
    };
    expect(catalog.unknownFields('v1', 'ConfigMap', configMap)).toEqual([]);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: 'c', image: 'i' }],
        overhead: { cpu: '1' },
        nodeSelector: { disk: 'ssd' },
      },
    };
    expect(catalog.unknownFields('v1', 'Pod', pod)).toEqual([]);
  });

  it('accepts anything inside free-form objects', () => {
    const revision = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: { name: 'r' },
      revision: 1,
      data: { spec: { template: { anything: { goes: true } } } },
    };
    expect(catalog.unknownFields('apps/v1', 'ControllerRevision', revision)).toEqual([]);
  });

  it('judges each kind by its own version', () => {
    const hpa = {
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'h' },
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'd' },
        maxReplicas: 3,
        targetCPUUtilizationPercentage: 50,
      },
    };
    expect(catalog.unknownFields('autoscaling/v1', 'HorizontalPodAutoscaler', hpa)).toEqual([]);
    expect(catalog.unknownFields('autoscaling/v2', 'HorizontalPodAutoscaler', hpa)).toEqual([
      '.spec.targetCPUUtilizationPercentage',
    ]);
  });

  it('tolerates values of the wrong shape, leaving them to the decoder', () => {
    const odd = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: 'x', spec: [1, 2], status: null };
    expect(catalog.unknownFields('apps/v1', 'Deployment', odd)).toEqual([]);
    expect(catalog.unknownFields('apps/v1', 'Deployment', 'not an object')).toEqual([]);
    expect(catalog.unknownFields('apps/v1', 'Deployment', null)).toEqual([]);
  });

  it('has nothing to say about kinds it does not serve', () => {
    expect(catalog.unknownFields('example.com/v1', 'Widget', { spec: { anything: 1 } })).toEqual([]);
    expect(catalog.unknownFields('apps/v1', 'Pod', { bogus: 1 })).toEqual([]);
    expect(catalog.schemaNameOf('apps/v1', 'Deployment')).toBe('io.k8s.api.apps.v1.Deployment');
    expect(catalog.schemaNameOf('v1', 'Nope')).toBeUndefined();
  });
});
