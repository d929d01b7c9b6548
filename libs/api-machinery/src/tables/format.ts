/** Cell formatting shared by the printers, matching how kube-apiserver words each value. */
import { humanDuration } from './human-duration';

export const NONE = '<none>';
export const UNSET = '<unset>';
export const UNKNOWN = '<unknown>';

/** Age of a timestamp relative to the injected clock; `<unknown>` when there is none. */
export function since(timestamp: string | null | undefined, now: Date): string {
  return sinceMillis(parseTime(timestamp), now);
}

export function sinceMillis(at: number | undefined, now: Date): string {
  return at === undefined ? UNKNOWN : humanDuration(now.getTime() - at);
}

export function parseTime(timestamp: string | null | undefined): number | undefined {
  if (!timestamp) return undefined;
  const at = Date.parse(timestamp);
  return Number.isNaN(at) ? undefined : at;
}

/** `a=1,b=2` with keys sorted, or `<none>`. */
export function formatLabels(labels: Record<string, string> | null | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length === 0 ? NONE : keys.map((k) => `${k}=${labels![k]}`).join(',');
}

interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/**
 * A LabelSelector in label-selector syntax (`app=web,tier in (a,b),!legacy`), requirements
 * sorted by key. Empty and missing selectors give an empty string, an unknown operator
 * gives undefined.
 */
export function selectorString(selector: LabelSelector | null | undefined): string | undefined {
  if (!selector) return '';
  const requirements: { key: string; text: string }[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    requirements.push({ key, text: `${key}=${value}` });
  }
  for (const expression of selector.matchExpressions ?? []) {
    const text = requirementText(expression);
    if (text === undefined) return undefined;
    requirements.push({ key: expression.key, text });
  }
  requirements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return requirements.map((r) => r.text).join(',');
}

function requirementText({ key, operator, values }: LabelSelectorRequirement): string | undefined {
  const set = [...new Set(values ?? [])].sort().join(',');
  switch (operator) {
    case 'In':
      return `${key} in (${set})`;
    case 'NotIn':
      return `${key} notin (${set})`;
    case 'Exists':
      return key;
    case 'DoesNotExist':
      return `!${key}`;
    default:
      return undefined;
  }
}

/** Selector column of wide listings: the selector, or `<none>` when it selects everything. */
export function formatSelector(selector: LabelSelector | null | undefined): string {
  const text = selectorString(selector);
  if (text === undefined) return '<error>';
  return text || NONE;
}

interface Container {
  name?: string;
  image?: string;
}

/** The Containers and Images cells: every container of a pod spec, comma-joined. */
export function containerCells(podSpec: { containers?: Container[] } | undefined): [string, string] {
  const containers = podSpec?.containers ?? [];
  return [containers.map((c) => c.name ?? '').join(','), containers.map((c) => c.image ?? '').join(',')];
}

const ACCESS_MODE_ABBREVIATIONS: [string, string][] = [
  ['ReadWriteOnce', 'RWO'],
  ['ReadOnlyMany', 'ROX'],
  ['ReadWriteMany', 'RWX'],
  ['ReadWriteOncePod', 'RWOP'],
];

/** `RWO,RWX`: abbreviations in a fixed order whatever order the spec lists them in. */
export function formatAccessModes(modes: string[] | undefined): string {
  const present = new Set(modes ?? []);
  return ACCESS_MODE_ABBREVIATIONS.filter(([mode]) => present.has(mode))
    .map(([, abbreviation]) => abbreviation)
    .join(',');
}

/** Int-or-string fields (`2`, `50%`) print as written. */
export function intOrString(value: number | string | null | undefined): string {
  return value === undefined || value === null ? '' : String(value);
}

/** Up to `max` entries, then ` + N more...`; `<unset>` for an empty list. */
export function listWithMore(items: string[], max = 3): string {
  if (items.length === 0) return UNSET;
  const shown = items.slice(0, max).join(',');
  return items.length > max ? `${shown} + ${items.length - max} more...` : shown;
}

export function printBool(value: boolean | null | undefined): string {
  if (value === undefined || value === null) return UNSET;
  return value ? 'True' : 'False';
}

/** `statefulset.apps/web`: lower-cased Kind.group of an owner, then its name. */
export function qualifiedKindName(apiVersion: string, kind: string, name: string): string {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  if (!kind) return name;
  return `${(group ? `${kind}.${group}` : kind).toLowerCase()}/${name}`;
}
