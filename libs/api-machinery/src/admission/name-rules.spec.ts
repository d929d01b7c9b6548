import {
  configKeyProblems,
  dns1035LabelProblems,
  dns1123LabelProblems,
  dns1123SubdomainProblems,
  labelValueProblems,
  pathSegmentProblems,
  portNameProblems,
  qualifiedNameProblems,
} from './name-rules';

describe('name rules', () => {
  it.each<[string, (v: string) => string[], string]>([
    ['dns1123 label', dns1123LabelProblems, 'my-nginx-pod'],
    ['dns1123 subdomain', dns1123SubdomainProblems, 'my-nginx-deployment-9b459b4c5.example'],
    ['dns1035 label', dns1035LabelProblems, 'hostname-svc-clusterip'],
    ['qualified name', qualifiedNameProblems, 'app.kubernetes.io/name'],
    ['label value', labelValueProblems, ''],
    ['config key', configKeyProblems, '.dockerconfigjson'],
    ['path segment', pathSegmentProblems, 'system:controller:deployment-controller'],
    ['port name', portNameProblems, 'web-port'],
  ])('accepts a valid %s', (_, rule, value) => {
    expect(rule(value)).toEqual([]);
  });

  it('reports every problem of a value, length first', () => {
    expect(dns1123LabelProblems('A'.repeat(64))).toEqual([
      'must be no more than 63 characters',
      expect.stringMatching(/^a lowercase RFC 1123 label must consist of/),
    ]);
    expect(qualifiedNameProblems('/x')).toEqual(['prefix part must be non-empty']);
    expect(qualifiedNameProblems('example.com/')).toEqual([
      'name part must be non-empty',
      expect.stringMatching(/^name part must consist of alphanumeric characters/),
    ]);
    expect(qualifiedNameProblems('Example.com/x')[0]).toMatch(/^prefix part a lowercase RFC 1123 subdomain/);
    expect(portNameProblems('-web--port-name-x')).toEqual([
      'must be no more than 15 characters',
      'must not contain consecutive hyphens',
      'must not begin or end with a hyphen',
    ]);
    expect(pathSegmentProblems('..')).toEqual(["may not be '..'"]);
    expect(configKeyProblems('..data')).toEqual(["must not start with '..'"]);
  });
});
