import { Errors, KubeObject, StatusCause } from '@kubetime/api-machinery';

/**
 * ClusterIP and NodePort allocation, as kube-apiserver's Service REST does on create: the lowest
 * free address of the service CIDR and the lowest free port of the NodePort range, so the same
 * history allocates the same values (determinism), and user-chosen values are honoured or refused
 * when taken.
 */
export const SERVICE_CIDR = { base: ipToNumber('10.96.0.0'), size: 1 << 20 };
export const NODE_PORT_RANGE = { min: 30000, max: 32767 };

export function ipToNumber(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
}

export function allocateServiceAddresses(
  service: KubeObject,
  existing: KubeObject[],
  old?: KubeObject,
): KubeObject {
  const spec = service.spec ?? {};
  const causes: StatusCause[] = [];
  const otherServices = existing.filter((s) => s.metadata.uid !== service.metadata.uid);
  if (spec.type === 'ExternalName') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  } else if (old?.spec?.clusterIP && !spec.clusterIP) {
    spec.clusterIP = old.spec.clusterIP;
    spec.clusterIPs = old.spec.clusterIPs;
  } else if (spec.clusterIP !== 'None') {
    const taken = new Set(otherServices.map((s) => s.spec?.clusterIP).filter(Boolean));
    if (spec.clusterIP) {
      const n = ipToNumber(spec.clusterIP);
      if (
        !/^\d+\.\d+\.\d+\.\d+$/.test(spec.clusterIP) ||
        n < SERVICE_CIDR.base ||
        n >= SERVICE_CIDR.base + SERVICE_CIDR.size
      ) {
        causes.push({
          reason: 'FieldValueInvalid',
          field: 'spec.clusterIPs',
          message: `Invalid value: "${spec.clusterIP}": failed to allocate IP ${spec.clusterIP}: the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is 10.96.0.0/12`,
        });
      } else if (taken.has(spec.clusterIP) && old?.spec?.clusterIP !== spec.clusterIP) {
        causes.push({
          reason: 'FieldValueInvalid',
          field: 'spec.clusterIPs',
          message: `Invalid value: "${spec.clusterIP}": failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`,
        });
      }
    } else {
      let candidate = SERVICE_CIDR.base + 1;
      while (taken.has(numberToIp(candidate))) candidate++;
      spec.clusterIP = numberToIp(candidate);
    }
    spec.clusterIPs = [spec.clusterIP];
  } else {
    spec.clusterIPs = ['None'];
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
    const taken = new Set<number>();
    for (const s of otherServices) for (const p of s.spec?.ports ?? []) if (p.nodePort) taken.add(p.nodePort);
    const oldPorts = new Map<number, number>((old?.spec?.ports ?? []).map((p: any) => [p.port, p.nodePort]));
    (spec.ports ?? []).forEach((port: any, i: number) => {
      if (port.nodePort) {
        if (port.nodePort < NODE_PORT_RANGE.min || port.nodePort > NODE_PORT_RANGE.max) {
          causes.push({
            reason: 'FieldValueInvalid',
            field: `spec.ports[${i}].nodePort`,
            message: `Invalid value: ${port.nodePort}: provided port is not in the valid range. The range of valid ports is 30000-32767`,
          });
        } else if (taken.has(port.nodePort)) {
          causes.push({
            reason: 'FieldValueInvalid',
            field: `spec.ports[${i}].nodePort`,
            message: `Invalid value: ${port.nodePort}: provided port is already allocated`,
          });
        }
      } else {
        let candidate = oldPorts.get(port.port) ?? NODE_PORT_RANGE.min;
        while (taken.has(candidate)) candidate++;
        port.nodePort = candidate;
      }
      taken.add(port.nodePort);
    });
  } else {
    for (const port of spec.ports ?? []) delete port.nodePort;
  }
  if (causes.length) throw Errors.invalid('Service', '', service.metadata.name ?? '', causes);
  return { ...service, spec };
}
