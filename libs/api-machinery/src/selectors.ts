/**
 * Label and field selectors with the grammar kube-apiserver accepts in `labelSelector` and
 * `fieldSelector` query parameters, plus the structured LabelSelector of object specs.
 */
import { Errors } from './errors';
import type { KubeObject } from './object';

type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!' }
  | { key: string; op: '=' | '!='; values: [string] };

export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

/** Splits on commas that are not inside a parenthesised value set. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t.length);
}

function parseRequirement(term: string): Requirement {
  let m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (m)
    return checkKey({ key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()) });
  m = /^!\s*(\S+)$/.exec(term);
  if (m) return checkKey({ key: m[1], op: '!' });
  m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (m) return checkKey({ key: m[1], op: m[2] === '!=' ? '!=' : '=', values: [m[3]] });
  m = /^(\S+)$/.exec(term);
  if (m) return checkKey({ key: m[1], op: 'exists' });
  throw Errors.badRequest(
    `unable to parse requirement: found '${term}', expected: in, notin, =, ==, !=, gt, lt`,
  );
}

function checkKey<R extends Requirement>(r: R): R {
  if (!KEY.test(r.key)) throw Errors.badRequest(`unable to parse requirement: invalid label key "${r.key}"`);
  return r;
}

export function parseLabelSelector(selector: string | null | undefined): LabelMatcher {
  if (!selector || !selector.trim()) return () => true;
  const requirements = splitTerms(selector).map(parseRequirement);
  return (labels) => requirements.every((r) => matches(r, labels ?? {}));
}

function matches(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  switch (r.op) {
    case 'exists':
      return has;
    case '!':
      return !has;
    case '=':
      return has && labels[r.key] === r.values[0];
    case '!=':
      return !has || labels[r.key] !== r.values[0];
    case 'in':
      return has && r.values.includes(labels[r.key]);
    case 'notin':
      return !has || !r.values.includes(labels[r.key]);
  }
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

/** A spec LabelSelector (Deployment.spec.selector): an empty selector matches everything. */
export function labelSelectorMatcher(selector: LabelSelector | undefined | null): LabelMatcher {
  if (!selector) return () => false;
  const requirements: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    requirements.push({ key, op: '=', values: [value] });
  for (const e of selector.matchExpressions ?? []) {
    const op = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' }[
      e.operator
    ] as Requirement['op'];
    requirements.push({ key: e.key, op, values: e.values ?? [] } as Requirement);
  }
  return (labels) => requirements.every((r) => matches(r, labels ?? {}));
}

/** `app=web,tier in (fe)`: the string form kubectl prints and sends, sorted by key as upstream. */
export function formatLabelSelector(selector: LabelSelector | undefined): string {
  const parts: [string, string][] = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => [
    k,
    `${k}=${v}`,
  ]);
  for (const e of selector?.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    if (e.operator === 'In') parts.push([e.key, `${e.key} in (${values})`]);
    if (e.operator === 'NotIn') parts.push([e.key, `${e.key} notin (${values})`]);
    if (e.operator === 'Exists') parts.push([e.key, e.key]);
    if (e.operator === 'DoesNotExist') parts.push([e.key, `!${e.key}`]);
  }
  return parts
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, text]) => text)
    .join(',');
}

export type FieldMatcher = (object: KubeObject) => boolean;

/** Fields each kind can be selected by, as kube-apiserver's field label conversion allows. */
const SELECTABLE_FIELDS: Record<string, string[]> = {
  '*': ['metadata.name', 'metadata.namespace'],
  Pod: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  Secret: ['type'],
  Namespace: ['status.phase'],
  Node: ['spec.unschedulable'],
  ReplicaSet: ['status.replicas'],
  Job: ['status.successful'],
  CertificateSigningRequest: ['spec.signerName'],
};

function fieldValue(object: KubeObject, path: string): string {
  if (path === 'source') return String(object.source?.component ?? '');
  let value: any = object;
  for (const part of path.split('.')) value = value?.[part];
  if (value === undefined || value === null) return path === 'spec.unschedulable' ? 'false' : '';
  return String(value);
}

export function parseFieldSelector(selector: string | null | undefined, kind: string): FieldMatcher {
  if (!selector || !selector.trim()) return () => true;
  const allowed = [...SELECTABLE_FIELDS['*'], ...(SELECTABLE_FIELDS[kind] ?? [])];
  const terms = selector.split(',').map((term) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(term.trim());
    if (!m) throw Errors.badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const field = m[1].trim();
    if (!allowed.includes(field)) {
      throw Errors.badRequest(`field label not supported: ${field}`);
    }
    return { field, negate: m[2] === '!=', value: m[3] };
  });
  return (object) => terms.every((t) => (fieldValue(object, t.field) === t.value) !== t.negate);
}
