/** core/v1 Service and Endpoints. IP and node-port allocation happen in the apiserver. */
import { Causes, FieldError, FieldPath, GoLiteral, oneOf } from '../field-errors';
import {
  dns1123LabelProblems,
  dns1123SubdomainProblems,
  portNameProblems,
  portNumberProblems,
} from '../name-rules';
import { validateLabels } from './meta';

type Json = Record<string, any>;
const spec = FieldPath.root('spec');

export const NODE_PORT_RANGE = { min: 30000, max: 32767 };
const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

/** Duplicate (port, protocol) pairs are reported with the Go struct upstream uses as the map key. */
function servicePortKey(port: Json): GoLiteral {
  return new GoLiteral(
    `core.ServicePort{Name:"", Protocol:${JSON.stringify(port.protocol ?? '')}, AppProtocol:(*string)(nil), Port:${port.port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`,
  );
}

function validateTargetPort(targetPort: unknown, path: FieldPath): Causes {
  if (typeof targetPort === 'number')
    return portNumberProblems(targetPort).map((p) => FieldError.invalid(path, targetPort, p));
  if (typeof targetPort === 'string')
    return portNameProblems(targetPort).map((p) => FieldError.invalid(path, targetPort, p));
  return [];
}

function validatePorts(svc: Json): Causes {
  const s = svc.spec;
  const ports: Json[] = s.ports ?? [];
  const causes: Causes = [];
  const names = new Set<string>();
  const portKeys = new Set<string>();
  const nodePorts = new Set<string>();
  const usesNodePorts = s.type === 'NodePort' || s.type === 'LoadBalancer';
  ports.forEach((port, i) => {
    const at = spec.child('ports').index(i);
    if (ports.length > 1 && !port.name) causes.push(FieldError.required(at.child('name')));
    if (port.name) {
      // Service port names are DNS labels (`80-80` is fine); only container ports use IANA_SVC_NAME.
      for (const problem of dns1123LabelProblems(port.name))
        causes.push(FieldError.invalid(at.child('name'), port.name, problem));
      if (names.has(port.name)) causes.push(FieldError.duplicate(at.child('name'), port.name));
      names.add(port.name);
    }
    for (const problem of portNumberProblems(port.port))
      causes.push(FieldError.invalid(at.child('port'), port.port ?? 0, problem));
    if (!port.protocol) causes.push(FieldError.required(at.child('protocol')));
    else causes.push(...oneOf(port.protocol, at.child('protocol'), PROTOCOLS));
    causes.push(...validateTargetPort(port.targetPort, at.child('targetPort')));
    const key = `${port.protocol}/${port.port}`;
    if (portKeys.has(key)) causes.push(FieldError.duplicate(at, servicePortKey(port)));
    portKeys.add(key);
    if (port.nodePort) {
      if (!usesNodePorts) {
        causes.push(
          FieldError.forbidden(at.child('nodePort'), `may not be used when \`type\` is '${s.type}'`),
        );
      } else if (port.nodePort < NODE_PORT_RANGE.min || port.nodePort > NODE_PORT_RANGE.max) {
        causes.push(
          FieldError.invalid(
            at.child('nodePort'),
            port.nodePort,
            `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`,
          ),
        );
      }
      const nodeKey = `${port.protocol}/${port.nodePort}`;
      if (nodePorts.has(nodeKey)) causes.push(FieldError.duplicate(at.child('nodePort'), port.nodePort));
      nodePorts.add(nodeKey);
    }
  });
  return causes;
}

export function validateService(svc: Json): Causes {
  const s = svc.spec ?? {};
  const normalized = { ...svc, spec: s };
  const causes: Causes = [...oneOf(s.type, spec.child('type'), SERVICE_TYPES)];
  if (s.type === 'ExternalName') {
    if (!s.externalName) {
      causes.push(FieldError.required(spec.child('externalName')));
    } else {
      const host = String(s.externalName).replace(/\.$/, '');
      for (const problem of dns1123SubdomainProblems(host))
        causes.push(FieldError.invalid(spec.child('externalName'), s.externalName, problem));
    }
    if (s.clusterIPs?.length)
      causes.push(FieldError.forbidden(spec.child('clusterIPs'), 'may not be set for ExternalName services'));
  } else if ((s.ports ?? []).length === 0 && s.clusterIP !== 'None') {
    causes.push(FieldError.required(spec.child('ports')));
  }
  causes.push(...validatePorts(normalized));
  causes.push(...validateLabels(s.selector, spec.child('selector')));
  causes.push(...oneOf(s.sessionAffinity, spec.child('sessionAffinity'), ['ClientIP', 'None']));
  if (s.externalTrafficPolicy !== undefined && s.type !== 'NodePort' && s.type !== 'LoadBalancer') {
    causes.push(
      FieldError.invalid(
        spec.child('externalTrafficPolicy'),
        s.externalTrafficPolicy,
        "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
      ),
    );
  } else {
    causes.push(...oneOf(s.externalTrafficPolicy, spec.child('externalTrafficPolicy'), ['Cluster', 'Local']));
  }
  causes.push(...oneOf(s.internalTrafficPolicy, spec.child('internalTrafficPolicy'), ['Cluster', 'Local']));
  causes.push(
    ...oneOf(s.ipFamilyPolicy, spec.child('ipFamilyPolicy'), [
      'SingleStack',
      'PreferDualStack',
      'RequireDualStack',
    ]),
  );
  (s.ipFamilies ?? []).forEach((family: string, i: number) =>
    causes.push(...oneOf(family, spec.child('ipFamilies').index(i), ['IPv4', 'IPv6'])),
  );
  return causes;
}

/**
 * Once allocated a cluster IP stays, unless the service turns into an ExternalName. An empty
 * clusterIP on update means the client left it out; the apiserver carries the old one over.
 */
export function validateServiceUpdate(svc: Json, old: Json): Causes {
  const oldIp = old.spec?.clusterIP;
  const newIp = svc.spec?.clusterIP;
  if (!oldIp || !newIp || svc.spec?.type === 'ExternalName' || newIp === oldIp) return [];
  return [FieldError.immutable(spec.child('clusterIP'), newIp)];
}

export function validateEndpoints(obj: Json): Causes {
  const causes: Causes = [];
  (obj.subsets ?? []).forEach((subset: Json, i: number) => {
    (subset.ports ?? []).forEach((port: Json, p: number) => {
      const at = FieldPath.root('subsets').index(i).child('ports').index(p);
      for (const problem of portNumberProblems(port.port))
        causes.push(FieldError.invalid(at.child('port'), port.port ?? 0, problem));
      causes.push(...oneOf(port.protocol, at.child('protocol'), PROTOCOLS));
    });
  });
  return causes;
}
