/**
 * The string formats Kubernetes names, labels and keys must follow. Each check returns the
 * list of problems in the exact sentences kube-apiserver uses, empty when the value is fine.
 */

function regexProblem(description: string, pattern: string, examples: string[]): string {
  // The double space before "or" is part of upstream's wording; clients compare messages.
  const quoted = examples.map((e) => `'${e}', `).join(' or ');
  return `${description} (e.g. ${quoted}regex used for validation is '${pattern}')`;
}

export function tooLongProblem(max: number): string {
  return `must be no more than ${max} characters`;
}

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME_PART = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE = `(${QUALIFIED_NAME_PART})?`;
const CONFIG_KEY = '[-._a-zA-Z0-9]+';

const fullMatch = (pattern: string) => new RegExp(`^(?:${pattern})$`);
const dns1123Label = fullMatch(DNS1123_LABEL);
const dns1123Subdomain = fullMatch(DNS1123_SUBDOMAIN);
const dns1035Label = fullMatch(DNS1035_LABEL);
const qualifiedNamePart = fullMatch(QUALIFIED_NAME_PART);
const labelValue = fullMatch(LABEL_VALUE);
const configKey = fullMatch(CONFIG_KEY);

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;

export function dns1123LabelProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > DNS1123_LABEL_MAX) problems.push(tooLongProblem(DNS1123_LABEL_MAX));
  if (!dns1123Label.test(value)) {
    problems.push(
      dns1123Subdomain.test(value)
        ? 'must not contain dots'
        : regexProblem(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
            DNS1123_LABEL,
            ['my-name', '123-abc'],
          ),
    );
  }
  return problems;
}

export function dns1123SubdomainProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX) problems.push(tooLongProblem(DNS1123_SUBDOMAIN_MAX));
  if (!dns1123Subdomain.test(value)) {
    problems.push(
      regexProblem(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN,
        ['example.com'],
      ),
    );
  }
  return problems;
}

export function dns1035LabelProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > DNS1123_LABEL_MAX) problems.push(tooLongProblem(DNS1123_LABEL_MAX));
  if (!dns1035Label.test(value)) {
    problems.push(
      regexProblem(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL,
        ['my-name', 'abc-123'],
      ),
    );
  }
  return problems;
}

const QUALIFIED_NAME_DESCRIPTION =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_EXAMPLES = ['MyName', 'my.name', '123-abc'];

/** Label keys, annotation keys, taint keys: an optional DNS subdomain prefix and a short name. */
export function qualifiedNameProblems(value: string): string[] {
  const parts = value.split('/');
  let name: string;
  const problems: string[] = [];
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const [prefix] = parts;
    name = parts[1];
    if (prefix.length === 0) problems.push('prefix part must be non-empty');
    else problems.push(...dns1123SubdomainProblems(prefix).map((p) => `prefix part ${p}`));
  } else {
    return [
      `a qualified name ${regexProblem(QUALIFIED_NAME_DESCRIPTION, QUALIFIED_NAME_PART, QUALIFIED_NAME_EXAMPLES)} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) problems.push('name part must be non-empty');
  else if (name.length > DNS1123_LABEL_MAX) problems.push(`name part ${tooLongProblem(DNS1123_LABEL_MAX)}`);
  if (!qualifiedNamePart.test(name)) {
    problems.push(
      `name part ${regexProblem(QUALIFIED_NAME_DESCRIPTION, QUALIFIED_NAME_PART, QUALIFIED_NAME_EXAMPLES)}`,
    );
  }
  return problems;
}

export function labelValueProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > DNS1123_LABEL_MAX) problems.push(tooLongProblem(DNS1123_LABEL_MAX));
  if (!labelValue.test(value)) {
    problems.push(
      regexProblem(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE,
        ['MyValue', 'my_value', '12345'],
      ),
    );
  }
  return problems;
}

/** Keys of ConfigMap and Secret data: they become file names when mounted. */
export function configKeyProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX) problems.push(tooLongProblem(DNS1123_SUBDOMAIN_MAX));
  if (!configKey.test(value)) {
    problems.push(
      regexProblem(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        CONFIG_KEY,
        ['key.name', 'KEY_NAME', 'key-name'],
      ),
    );
  }
  if (value === '.') problems.push("must not be '.'");
  else if (value === '..') problems.push("must not be '..'");
  else if (value.startsWith('..')) problems.push("must not start with '..'");
  return problems;
}

/** RBAC objects only need to be usable as one URL path segment. */
export function pathSegmentProblems(value: string): string[] {
  if (value === '.' || value === '..') return [`may not be '${value}'`];
  const problems: string[] = [];
  if (value.includes('/')) problems.push("may not contain '/'");
  if (value.includes('%')) problems.push("may not contain '%'");
  return problems;
}

/** IANA_SVC_NAME: what a named container or service port must look like. */
export function portNameProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 15) problems.push(tooLongProblem(15));
  if (!/^[-a-z0-9]+$/.test(value)) problems.push("must contain only alpha-numerics and '-'");
  if (!/[a-z]/.test(value)) problems.push('must contain at least one letter (a-z)');
  if (value.includes('--')) problems.push('must not contain consecutive hyphens');
  if (value.startsWith('-') || value.endsWith('-')) problems.push('must not begin or end with a hyphen');
  return problems;
}

export function portNumberProblems(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535
    ? []
    : ['must be between 1 and 65535, inclusive'];
}
