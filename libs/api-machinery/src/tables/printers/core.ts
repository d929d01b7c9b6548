import { KubeObject } from '../../object';
import { containerCells, formatAccessModes, formatLabels, NONE, since, UNKNOWN, UNSET } from '../format';
import { AGE_COLUMN, columns, NAME_COLUMN, Printer } from '../printer';

function nameAndAge(object: KubeObject, now: Date, ...middle: (string | number)[]): (string | number)[] {
  return [object.metadata.name ?? '', ...middle, since(object.metadata.creationTimestamp, now)];
}

export const namespacePrinter: Printer = {
  columns: columns(NAME_COLUMN, ['Status', 'string', 'Active or Terminating.'], AGE_COLUMN),
  row: (namespace, now) => ({ cells: nameAndAge(namespace, now, namespace.status?.phase ?? '') }),
};

export const configMapPrinter: Printer = {
  columns: columns(NAME_COLUMN, ['Data', 'string', 'Number of keys in data and binaryData.'], AGE_COLUMN),
  row: (configMap, now) => ({
    cells: nameAndAge(
      configMap,
      now,
      Object.keys(configMap.data ?? {}).length + Object.keys(configMap.binaryData ?? {}).length,
    ),
  }),
};

export const secretPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Type', 'string', 'What the secret holds, such as Opaque or a service account token.'],
    ['Data', 'string', 'Number of keys in data.'],
    AGE_COLUMN,
  ),
  row: (secret, now) => ({
    cells: nameAndAge(secret, now, secret.type ?? '', Object.keys(secret.data ?? {}).length),
  }),
};

export const serviceAccountPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Secrets', 'string', 'Number of secrets listed on the account.'],
    AGE_COLUMN,
  ),
  row: (account, now) => ({ cells: nameAndAge(account, now, (account.secrets ?? []).length) }),
};

export const podTemplatePrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Containers', 'string', 'Container names of the template.'],
    ['Images', 'string', 'Container images of the template.'],
    ['Pod Labels', 'string', 'Labels the template puts on its pods.'],
  ),
  row: (podTemplate) => ({
    cells: [
      podTemplate.metadata.name ?? '',
      ...containerCells(podTemplate.template?.spec),
      formatLabels(podTemplate.template?.metadata?.labels),
    ],
  }),
};

interface EndpointSubset {
  addresses?: { ip: string }[];
  ports?: { port: number }[];
}

/** At most three `ip:port` pairs; the rest are counted, not listed. */
function formatEndpoints(subsets: EndpointSubset[] | undefined): string {
  if (!subsets || subsets.length === 0) return NONE;
  const shown: string[] = [];
  const max = 3;
  let total = 0;
  for (const subset of subsets) {
    const addresses = subset.addresses ?? [];
    // Headless services may publish addresses without ports.
    const ports: (number | undefined)[] = subset.ports?.length
      ? subset.ports.map((p) => p.port)
      : [undefined];
    for (const port of ports) {
      total += addresses.length;
      for (const { ip } of addresses) {
        if (shown.length === max) break;
        shown.push(port === undefined ? ip : ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
      }
    }
  }
  const list = shown.join(',');
  return total > max ? `${list} + ${total - max} more...` : list;
}

export const endpointsPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Endpoints', 'string', 'Addresses and ports backing the service.'],
    AGE_COLUMN,
  ),
  row: (endpoints, now) => ({ cells: nameAndAge(endpoints, now, formatEndpoints(endpoints.subsets)) }),
};

interface ServicePort {
  port: number;
  nodePort?: number;
  protocol?: string;
}

function servicePorts(ports: ServicePort[] | undefined): string {
  const text = (ports ?? [])
    .map(({ port, nodePort, protocol = 'TCP' }) =>
      nodePort ? `${port}:${nodePort}/${protocol}` : `${port}/${protocol}`,
    )
    .join(',');
  return text || NONE;
}

/** Load-balancer ingress points, de-duplicated and sorted, IPs preferred over hostnames. */
export function loadBalancerAddresses(ingress: { ip?: string; hostname?: string }[] | undefined): string[] {
  const addresses = new Set<string>();
  for (const point of ingress ?? []) {
    if (point.ip) addresses.add(point.ip);
    else if (point.hostname) addresses.add(point.hostname);
  }
  return [...addresses].sort();
}

function serviceExternalIP(service: KubeObject): string {
  const spec = service.spec ?? {};
  const externalIPs: string[] = spec.externalIPs ?? [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : NONE;
    case 'LoadBalancer': {
      const all = [...loadBalancerAddresses(service.status?.loadBalancer?.ingress), ...externalIPs];
      // Until the cloud provider assigns an address there is nothing to show yet.
      return all.length > 0 ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return UNKNOWN;
  }
}

export const servicePrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Type', 'string', 'How the service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName.'],
    ['Cluster-IP', 'string', 'Virtual IP inside the cluster, or None for headless services.'],
    ['External-IP', 'string', 'Addresses outside the cluster that reach the service.'],
    ['Port(s)', 'string', 'Service ports, with the node port when one is allocated.'],
    AGE_COLUMN,
    ['Selector', 'string', 'Labels of the pods the service routes to.', 'wide'],
  ),
  row(service, now) {
    const spec = service.spec ?? {};
    return {
      cells: [
        ...nameAndAge(
          service,
          now,
          spec.type ?? 'ClusterIP',
          spec.clusterIPs?.[0] || spec.clusterIP || NONE,
          serviceExternalIP(service),
          servicePorts(spec.ports),
        ),
        formatLabels(spec.selector),
      ],
    };
  },
};

const ROLE_LABEL_PREFIX = 'node-role.kubernetes.io/';
const LEGACY_ROLE_LABEL = 'kubernetes.io/role';

function nodeRoles(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(node.metadata.labels ?? {})) {
    if (key.startsWith(ROLE_LABEL_PREFIX) && key.length > ROLE_LABEL_PREFIX.length) {
      roles.add(key.slice(ROLE_LABEL_PREFIX.length));
    } else if (key === LEGACY_ROLE_LABEL && value) {
      roles.add(value);
    }
  }
  return [...roles].sort().join(',') || NONE;
}

function nodeStatus(node: KubeObject): string {
  const ready = (node.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
  const parts = [ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeAddress(node: KubeObject, type: string): string {
  const address = (node.status?.addresses ?? []).find((a: { type: string }) => a.type === type);
  return address?.address ?? NONE;
}

export const nodePrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Status', 'string', 'Readiness of the node, and whether scheduling onto it is disabled.'],
    ['Roles', 'string', 'Roles taken from node-role.kubernetes.io labels.'],
    AGE_COLUMN,
    ['Version', 'string', 'Kubelet version reported by the node.'],
    ['Internal-IP', 'string', 'First internal address of the node.', 'wide'],
    ['External-IP', 'string', 'First external address of the node.', 'wide'],
    ['OS-Image', 'string', 'Operating system image reported by the node.', 'wide'],
    ['Kernel-Version', 'string', 'Kernel version reported by the node.', 'wide'],
    ['Container-Runtime', 'string', 'Container runtime and version reported by the node.', 'wide'],
  ),
  row(node, now) {
    const info = node.status?.nodeInfo ?? {};
    return {
      cells: [
        node.metadata.name ?? '',
        nodeStatus(node),
        nodeRoles(node),
        since(node.metadata.creationTimestamp, now),
        info.kubeletVersion ?? '',
        nodeAddress(node, 'InternalIP'),
        nodeAddress(node, 'ExternalIP'),
        info.osImage || UNKNOWN,
        info.kernelVersion || UNKNOWN,
        info.containerRuntimeVersion || UNKNOWN,
      ],
    };
  },
};

/** The beta annotation still wins over spec.storageClassName, as it did when it was the only way. */
const STORAGE_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

function storageClassOf(object: KubeObject): string {
  const annotated = object.metadata.annotations?.[STORAGE_CLASS_ANNOTATION];
  return annotated ?? object.spec?.storageClassName ?? '';
}

export const persistentVolumePrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Capacity', 'string', 'Storage capacity of the volume.'],
    ['Access Modes', 'string', 'How the volume can be mounted.'],
    ['Reclaim Policy', 'string', 'What happens to the volume once its claim is released.'],
    ['Status', 'string', 'Phase of the volume.'],
    ['Claim', 'string', 'namespace/name of the claim bound to the volume.'],
    ['StorageClass', 'string', 'Storage class of the volume.'],
    ['VolumeAttributesClass', 'string', 'Volume attributes class of the volume.'],
    ['Reason', 'string', 'Why the volume is in its phase.'],
    AGE_COLUMN,
    ['VolumeMode', 'string', 'Filesystem or Block.', 'wide'],
  ),
  row(volume, now) {
    const spec = volume.spec ?? {};
    const claim = spec.claimRef ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name ?? ''}` : '';
    return {
      cells: [
        volume.metadata.name ?? '',
        spec.capacity?.storage ?? '0',
        formatAccessModes(spec.accessModes),
        spec.persistentVolumeReclaimPolicy ?? '',
        volume.metadata.deletionTimestamp ? 'Terminating' : (volume.status?.phase ?? ''),
        claim,
        storageClassOf(volume),
        spec.volumeAttributesClassName ?? UNSET,
        volume.status?.reason ?? '',
        since(volume.metadata.creationTimestamp, now),
        spec.volumeMode ?? UNSET,
      ],
    };
  },
};

export const persistentVolumeClaimPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Status', 'string', 'Phase of the claim.'],
    ['Volume', 'string', 'Volume bound to the claim.'],
    ['Capacity', 'string', 'Capacity of the bound volume.'],
    ['Access Modes', 'string', 'How the bound volume can be mounted.'],
    ['StorageClass', 'string', 'Storage class of the claim.'],
    ['VolumeAttributesClass', 'string', 'Volume attributes class of the claim.'],
    AGE_COLUMN,
    ['VolumeMode', 'string', 'Filesystem or Block.', 'wide'],
  ),
  row(claim, now) {
    const spec = claim.spec ?? {};
    // Capacity and access modes describe the bound volume, so they stay blank until binding.
    const bound = Boolean(spec.volumeName);
    return {
      cells: [
        claim.metadata.name ?? '',
        claim.metadata.deletionTimestamp ? 'Terminating' : (claim.status?.phase ?? ''),
        spec.volumeName ?? '',
        bound ? (claim.status?.capacity?.storage ?? '0') : '',
        bound ? formatAccessModes(claim.status?.accessModes) : '',
        storageClassOf(claim),
        spec.volumeAttributesClassName ?? UNSET,
        since(claim.metadata.creationTimestamp, now),
        spec.volumeMode ?? UNSET,
      ],
    };
  },
};

function quotaColumns(quota: KubeObject): [string, string] {
  const hard: Record<string, string> = quota.status?.hard ?? {};
  const used: Record<string, string> = quota.status?.used ?? {};
  const requests: string[] = [];
  const limits: string[] = [];
  for (const resource of Object.keys(hard).sort()) {
    const pieces = resource.split('.');
    const column = pieces.length > 1 && pieces[0] === 'limits' ? limits : requests;
    column.push(`${resource}: ${used[resource] ?? '0'}/${hard[resource]}`);
  }
  return [requests.join(', '), limits.join(', ')];
}

export const resourceQuotaPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Request', 'string', 'Used out of hard quota for everything but limits.'],
    ['Limit', 'string', 'Used out of hard quota for limits.* resources.'],
    AGE_COLUMN,
  ),
  row: (quota, now) => ({ cells: nameAndAge(quota, now, ...quotaColumns(quota)) }),
};
