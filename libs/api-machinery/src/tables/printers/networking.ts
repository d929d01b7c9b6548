import { formatSelector, listWithMore, NONE, since } from '../format';
import { AGE_COLUMN, columns, NAME_COLUMN, Printer } from '../printer';
import { loadBalancerAddresses } from './core';

/**
 * Up to three rule hosts; `*` when no rule names a host. Any rule left over once three
 * hosts are listed counts towards "more", hostless or not.
 */
function ingressHosts(rules: { host?: string }[] | undefined): string {
  const all = rules ?? [];
  const max = 3;
  const hosts: string[] = [];
  let more = false;
  for (const rule of all) {
    if (hosts.length === max) more = true;
    if (!more && rule.host) hosts.push(rule.host);
  }
  if (hosts.length === 0) return '*';
  return more ? `${hosts.join(',')} + ${all.length - max} more...` : hosts.join(',');
}

export const ingressPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Class', 'string', 'IngressClass that implements the ingress.'],
    ['Hosts', 'string', 'Hosts the rules match.'],
    ['Address', 'string', 'Addresses the load balancer listens on.'],
    ['Ports', 'string', 'Ports served: 80, plus 443 when TLS is configured.'],
    AGE_COLUMN,
  ),
  row(ingress, now) {
    const spec = ingress.spec ?? {};
    return {
      cells: [
        ingress.metadata.name ?? '',
        spec.ingressClassName ?? NONE,
        ingressHosts(spec.rules),
        loadBalancerAddresses(ingress.status?.loadBalancer?.ingress).join(','),
        (spec.tls ?? []).length > 0 ? '80, 443' : '80',
        since(ingress.metadata.creationTimestamp, now),
      ],
    };
  },
};

export const ingressClassPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Controller', 'string', 'Controller that implements the class.'],
    ['Parameters', 'string', 'Resource holding extra configuration for the controller.'],
    AGE_COLUMN,
  ),
  row(ingressClass, now) {
    const spec = ingressClass.spec ?? {};
    const parameters = spec.parameters;
    const kind = parameters?.apiGroup ? `${parameters.kind}.${parameters.apiGroup}` : parameters?.kind;
    return {
      cells: [
        ingressClass.metadata.name ?? '',
        spec.controller ?? '',
        parameters ? `${kind}/${parameters.name}` : NONE,
        since(ingressClass.metadata.creationTimestamp, now),
      ],
    };
  },
};

export const networkPolicyPrinter: Printer = {
  columns: columns(NAME_COLUMN, ['Pod-Selector', 'string', 'Pods the policy applies to.'], AGE_COLUMN),
  row: (policy, now) => ({
    cells: [
      policy.metadata.name ?? '',
      // An empty pod selector is valid and means every pod of the namespace.
      formatSelector(policy.spec?.podSelector ?? {}),
      since(policy.metadata.creationTimestamp, now),
    ],
  }),
};

interface SlicePort {
  port?: number;
  name?: string;
}

export const endpointSlicePrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['AddressType', 'string', 'IPv4, IPv6 or FQDN.'],
    ['Ports', 'string', 'Ports of the endpoints.'],
    ['Endpoints', 'string', 'Addresses in the slice.'],
    AGE_COLUMN,
  ),
  row(slice, now) {
    const ports = ((slice.ports ?? []) as SlicePort[]).map((p) =>
      p.port !== undefined && p.port !== null ? String(p.port) : (p.name ?? '*'),
    );
    const addresses = ((slice.endpoints ?? []) as { addresses?: string[] }[]).flatMap(
      (e) => e.addresses ?? [],
    );
    return {
      cells: [
        slice.metadata.name ?? '',
        slice.addressType ?? '',
        listWithMore(ports),
        listWithMore(addresses),
        since(slice.metadata.creationTimestamp, now),
      ],
    };
  },
};
