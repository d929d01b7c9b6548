/** Nodes, RBAC, networking, autoscaling and policy objects. */
import { Causes, FieldError, FieldPath, GoLiteral, isEqual, nonNegative, oneOf } from '../field-errors';
import {
  dns1123SubdomainProblems,
  portNameProblems,
  portNumberProblems,
  qualifiedNameProblems,
} from '../name-rules';
import { validateLabelSelector } from './meta';

type Json = Record<string, any>;
const spec = FieldPath.root('spec');

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export function validateNode(node: Json): Causes {
  const causes: Causes = [];
  const seen = new Set<string>();
  (node.spec?.taints ?? []).forEach((taint: Json, i: number) => {
    const at = spec.child('taints').index(i);
    for (const problem of qualifiedNameProblems(String(taint.key ?? '')))
      causes.push(FieldError.invalid(at.child('key'), taint.key ?? '', problem));
    if (!taint.effect) causes.push(FieldError.required(at.child('effect')));
    else causes.push(...oneOf(taint.effect, at.child('effect'), TAINT_EFFECTS));
    const identity = `${taint.key}:${taint.effect}`;
    if (seen.has(identity))
      causes.push(FieldError.invalid(at, taint, 'taints must be unique by key and effect pair'));
    seen.add(identity);
  });
  return causes;
}

/** podCIDR(s) and providerID are written once, by whoever first sets them. */
export function validateNodeUpdate(node: Json, old: Json): Causes {
  const causes: Causes = [];
  const oldCidrs: string[] = old.spec?.podCIDRs ?? (old.spec?.podCIDR ? [old.spec.podCIDR] : []);
  const newCidrs: string[] = node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : []);
  if (oldCidrs.length > 0 && !isEqual(oldCidrs, newCidrs)) {
    causes.push(
      FieldError.forbidden(
        spec.child('podCIDRs'),
        'node updates may not change podCIDR except from "" to valid',
      ),
    );
  }
  if (old.spec?.providerID && node.spec?.providerID !== old.spec.providerID) {
    causes.push(
      FieldError.forbidden(
        spec.child('providerID'),
        'node updates may not change providerID except from "" to valid',
      ),
    );
  }
  return causes;
}

function validatePolicyRules(rules: Json[] | undefined, path: FieldPath): Causes {
  const causes: Causes = [];
  (rules ?? []).forEach((rule, i) => {
    const at = path.index(i);
    if (!rule.verbs?.length)
      causes.push(FieldError.required(at.child('verbs'), 'verbs must contain at least one value'));
    if (rule.nonResourceURLs?.length) {
      if (rule.apiGroups?.length || rule.resources?.length || rule.resourceNames?.length) {
        causes.push(
          FieldError.invalid(
            at.child('nonResourceURLs'),
            rule.nonResourceURLs,
            'rules cannot apply to both regular resources and non-resource URLs',
          ),
        );
      }
      return;
    }
    if (!rule.apiGroups?.length)
      causes.push(
        FieldError.required(at.child('apiGroups'), 'resource rules must supply at least one api group'),
      );
    if (!rule.resources?.length)
      causes.push(
        FieldError.required(at.child('resources'), 'resource rules must supply at least one resource'),
      );
  });
  return causes;
}

export function validateRole(role: Json): Causes {
  return validatePolicyRules(role.rules, FieldPath.root('rules'));
}

export function validateClusterRole(role: Json): Causes {
  // Aggregated roles have their rules filled in by the controller.
  return role.aggregationRule ? [] : validatePolicyRules(role.rules, FieldPath.root('rules'));
}

const SUBJECT_KINDS = ['ServiceAccount', 'User', 'Group'];

function validateBinding(binding: Json, allowedRoleKinds: string[], subjectNeedsNamespace: boolean): Causes {
  const causes: Causes = [];
  const roleRef = FieldPath.root('roleRef');
  if (binding.roleRef?.apiGroup !== 'rbac.authorization.k8s.io') {
    causes.push(
      FieldError.notSupported(roleRef.child('apiGroup'), binding.roleRef?.apiGroup ?? '', [
        'rbac.authorization.k8s.io',
      ]),
    );
  }
  if (!allowedRoleKinds.includes(binding.roleRef?.kind)) {
    causes.push(
      FieldError.notSupported(roleRef.child('kind'), binding.roleRef?.kind ?? '', allowedRoleKinds),
    );
  }
  if (!binding.roleRef?.name) causes.push(FieldError.required(roleRef.child('name')));
  (binding.subjects ?? []).forEach((subject: Json, i: number) => {
    const at = FieldPath.root('subjects').index(i);
    if (!subject.name) causes.push(FieldError.required(at.child('name')));
    causes.push(
      ...(subject.kind
        ? oneOf(subject.kind, at.child('kind'), SUBJECT_KINDS)
        : [FieldError.notSupported(at.child('kind'), '', SUBJECT_KINDS)]),
    );
    if (subject.kind === 'ServiceAccount' && subjectNeedsNamespace && !subject.namespace) {
      causes.push(FieldError.required(at.child('namespace')));
    }
  });
  return causes;
}

export function validateRoleBinding(binding: Json): Causes {
  return validateBinding(binding, ['Role', 'ClusterRole'], false);
}

export function validateClusterRoleBinding(binding: Json): Causes {
  return validateBinding(binding, ['ClusterRole'], true);
}

function goRoleRef(roleRef: Json | undefined): GoLiteral {
  return new GoLiteral(
    `rbac.RoleRef{APIGroup:${JSON.stringify(roleRef?.apiGroup ?? '')}, Kind:${JSON.stringify(roleRef?.kind ?? '')}, Name:${JSON.stringify(roleRef?.name ?? '')}}`,
  );
}

export function validateBindingUpdate(binding: Json, old: Json): Causes {
  return isEqual(binding.roleRef, old.roleRef)
    ? []
    : [FieldError.invalid('roleRef', goRoleRef(binding.roleRef), 'cannot change roleRef')];
}

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];

function validateIngressBackend(backend: Json | undefined, path: FieldPath): Causes {
  if (!backend) return [];
  const causes: Causes = [];
  if (backend.service && backend.resource) {
    causes.push(FieldError.invalid(path, backend, 'cannot set both resource and service backends'));
  }
  const service = backend.service;
  if (service) {
    const at = path.child('service');
    for (const problem of dns1123SubdomainProblems(String(service.name ?? '')))
      causes.push(FieldError.invalid(at.child('name'), service.name ?? '', problem));
    const port = service.port ?? {};
    if (port.name !== undefined && port.number !== undefined) {
      causes.push(FieldError.invalid(at.child('port'), port, 'cannot set both port name & port number'));
    } else if (port.name !== undefined) {
      for (const problem of portNameProblems(port.name))
        causes.push(FieldError.invalid(at.child('port', 'name'), port.name, problem));
    } else if (port.number !== undefined) {
      for (const problem of portNumberProblems(port.number))
        causes.push(FieldError.invalid(at.child('port', 'number'), port.number, problem));
    } else {
      causes.push(FieldError.required(at.child('port'), 'port name or number is required'));
    }
  }
  return causes;
}

export function validateIngress(ingress: Json): Causes {
  const s = ingress.spec ?? {};
  const causes: Causes = [...validateIngressBackend(s.defaultBackend, spec.child('defaultBackend'))];
  (s.rules ?? []).forEach((rule: Json, r: number) => {
    const at = spec.child('rules').index(r);
    if (rule.host) {
      const host = String(rule.host).replace(/^\*\./, '');
      for (const problem of dns1123SubdomainProblems(host))
        causes.push(FieldError.invalid(at.child('host'), rule.host, problem));
    }
    (rule.http?.paths ?? []).forEach((httpPath: Json, p: number) => {
      const pathAt = at.child('http', 'paths').index(p);
      if (!httpPath.pathType) {
        causes.push(FieldError.required(pathAt.child('pathType'), 'pathType must be specified'));
      } else {
        causes.push(...oneOf(httpPath.pathType, pathAt.child('pathType'), PATH_TYPES));
      }
      if (
        (httpPath.pathType === 'Exact' || httpPath.pathType === 'Prefix') &&
        !String(httpPath.path ?? '').startsWith('/')
      ) {
        causes.push(
          FieldError.invalid(pathAt.child('path'), httpPath.path ?? '', 'must be an absolute path'),
        );
      }
      if (!httpPath.backend) causes.push(FieldError.required(pathAt.child('backend')));
      causes.push(...validateIngressBackend(httpPath.backend, pathAt.child('backend')));
    });
  });
  return causes;
}

export function validateHorizontalPodAutoscaler(hpa: Json): Causes {
  const s = hpa.spec ?? {};
  const causes: Causes = [];
  const ref = spec.child('scaleTargetRef');
  if (!s.scaleTargetRef?.kind) causes.push(FieldError.required(ref.child('kind')));
  if (!s.scaleTargetRef?.name) causes.push(FieldError.required(ref.child('name')));
  if (s.minReplicas !== undefined && s.minReplicas < 1) {
    causes.push(
      FieldError.invalid(spec.child('minReplicas'), s.minReplicas, 'must be greater than or equal to 1'),
    );
  }
  if (!(s.maxReplicas >= 1))
    causes.push(FieldError.invalid(spec.child('maxReplicas'), s.maxReplicas ?? 0, 'must be greater than 0'));
  else if (s.minReplicas !== undefined && s.maxReplicas < s.minReplicas) {
    causes.push(
      FieldError.invalid(
        spec.child('maxReplicas'),
        s.maxReplicas,
        'must be greater than or equal to `minReplicas`',
      ),
    );
  }
  if (s.targetCPUUtilizationPercentage !== undefined && s.targetCPUUtilizationPercentage < 1) {
    causes.push(
      FieldError.invalid(
        spec.child('targetCPUUtilizationPercentage'),
        s.targetCPUUtilizationPercentage,
        'must be greater than 0',
      ),
    );
  }
  return causes;
}

export function validatePodDisruptionBudget(pdb: Json): Causes {
  const s = pdb.spec ?? {};
  const causes: Causes = validateLabelSelector(s.selector, spec.child('selector'));
  if (s.minAvailable !== undefined && s.maxUnavailable !== undefined) {
    causes.push(FieldError.invalid(spec, s, 'minAvailable and maxUnavailable cannot be both set'));
  }
  for (const field of ['minAvailable', 'maxUnavailable']) {
    const value = s[field];
    if (typeof value === 'number') causes.push(...nonNegative(value, spec.child(field)));
    else if (typeof value === 'string' && !/^[0-9]+%$/.test(value)) {
      causes.push(
        FieldError.invalid(
          spec.child(field),
          value,
          "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        ),
      );
    }
  }
  causes.push(
    ...oneOf(s.unhealthyPodEvictionPolicy, spec.child('unhealthyPodEvictionPolicy'), [
      'AlwaysAllow',
      'IfHealthyBudget',
    ]),
  );
  return causes;
}
