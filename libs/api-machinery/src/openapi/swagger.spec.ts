import { WireReader } from '../protobuf/wire';
import { OpenApiCatalog } from './catalog';
import { toSwaggerSchema } from './swagger';

/** The length-delimited fields of one message, by field number, in order. */
function fields(message: Buffer): Map<number, Buffer[]> {
  const reader = new WireReader(message);
  const found = new Map<number, Buffer[]>();
  while (!reader.done()) {
    const { fieldNumber, wireType } = reader.tag();
    if (wireType !== 2) {
      reader.skip(wireType);
      continue;
    }
    found.set(fieldNumber, [...(found.get(fieldNumber) ?? []), reader.bytes()]);
  }
  return found;
}

function text(field: Buffer[] | undefined): string | undefined {
  return field?.[0].toString('utf8');
}

describe('the Swagger 2.0 document (/openapi/v2)', () => {
  const catalog = OpenApiCatalog.load();

  it('writes references, IntOrString and Quantity as kube-apiserver v2 does', () => {
    expect(
      toSwaggerSchema({
        description: 'd',
        allOf: [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy' }],
        'x-kubernetes-patch-strategy': 'retainKeys',
      }),
    ).toEqual({
      $ref: '#/definitions/io.k8s.api.apps.v1.DeploymentStrategy',
      description: 'd',
      'x-kubernetes-patch-strategy': 'retainKeys',
    });
    const { definitions } = catalog.swagger().json;
    expect(definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString']).toMatchObject({
      type: 'string',
      format: 'int-or-string',
    });
    expect(definitions['io.k8s.apimachinery.pkg.api.resource.Quantity'].type).toBe('string');
    expect(definitions['io.k8s.api.apps.v1.DeploymentSpec'].properties!.strategy).toMatchObject({
      $ref: '#/definitions/io.k8s.api.apps.v1.DeploymentStrategy',
      'x-kubernetes-patch-strategy': 'retainKeys',
    });
  });

  it('references only definitions it carries, so kubectl can parse every model', () => {
    const { definitions } = catalog.swagger().json;
    const refs = JSON.stringify(definitions).match(/#\/definitions\/[^"]+/g) ?? [];
    for (const ref of new Set(refs)) expect(definitions).toHaveProperty([ref.slice('#/definitions/'.length)]);
  });

  it('encodes gnostic openapi.v2.Document: version, definitions, and the GVK extension kubectl looks kinds up by', () => {
    const document = fields(catalog.swagger().protobuf);
    expect(text(document.get(1))).toBe('2.0');
    const definitions = fields(document.get(9)![0])
      .get(1)!
      .map((named) => fields(named));
    const byName = new Map(definitions.map((named) => [text(named.get(1)), named.get(2)![0]]));
    expect(byName.size).toBe(Object.keys(catalog.swagger().json.definitions).length);
    const configMap = fields(byName.get('io.k8s.api.core.v1.ConfigMap')!);
    expect(text(fields(configMap.get(22)![0]).get(1))).toBe('object');
    const extensions = configMap.get(31)!.map((named) => fields(named));
    const gvk = extensions.find((named) => text(named.get(1)) === 'x-kubernetes-group-version-kind')!;
    expect(JSON.parse(text(fields(gvk.get(2)![0]).get(2))!)).toEqual([
      { group: '', kind: 'ConfigMap', version: 'v1' },
    ]);
    const properties = fields(configMap.get(25)![0])
      .get(1)!
      .map((named) => text(fields(named).get(1)));
    expect(properties).toEqual(expect.arrayContaining(['apiVersion', 'data', 'kind', 'metadata']));
  });
});
