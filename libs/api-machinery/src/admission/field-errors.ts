/**
 * Field-level errors worded the way kube-apiserver 1.32 renders field.Error, because kubectl
 * prints them verbatim and scripts grep for them ("field is immutable", "Required value").
 */
import type { StatusCause } from '../errors';

/** A value already spelled in Go's %#v syntax, for the struct-typed bad values 1.32 prints. */
export class GoLiteral {
  constructor(readonly text: string) {}
}

function isStringMap(value: object): value is Record<string, string> {
  return !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

function goStringMap(map: Record<string, string> | undefined): string {
  if (map === undefined || map === null) return 'map[string]string(nil)';
  const entries = Object.keys(map)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(map[k])}`);
  return `map[string]string{${entries.join(', ')}}`;
}

function goStringSlice(values: string[] | undefined): string {
  if (!values) return '[]string(nil)';
  return `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;
}

export function goLabelSelector(selector: any): GoLiteral {
  const expressions: any[] | undefined = selector?.matchExpressions;
  const renderedExpressions = expressions
    ? `[]v1.LabelSelectorRequirement{${expressions
        .map(
          (e) =>
            `v1.LabelSelectorRequirement{Key:${JSON.stringify(e.key ?? '')}, Operator:${JSON.stringify(
              e.operator ?? '',
            )}, Values:${goStringSlice(e.values)}}`,
        )
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return new GoLiteral(
    `v1.LabelSelector{MatchLabels:${goStringMap(selector?.matchLabels)}, MatchExpressions:${renderedExpressions}}`,
  );
}

/** How a bad value appears after "Invalid value: ". */
export function renderValue(value: unknown): string {
  if (value instanceof GoLiteral) return value.text;
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object' && isStringMap(value)) return goStringMap(value);
  return JSON.stringify(value);
}

type FieldRef = FieldPath | string;

function cause(reason: string, field: FieldRef, message: string): StatusCause {
  return { reason, message, field: String(field) };
}

function withDetail(body: string, detail?: string): string {
  return detail ? `${body}: ${detail}` : body;
}

export const FieldError = {
  invalid(field: FieldRef, value: unknown, detail: string): StatusCause {
    return cause('FieldValueInvalid', field, withDetail(`Invalid value: ${renderValue(value)}`, detail));
  },
  required(field: FieldRef, detail = ''): StatusCause {
    return cause('FieldValueRequired', field, withDetail('Required value', detail));
  },
  notSupported(field: FieldRef, value: unknown, supported: readonly string[]): StatusCause {
    const detail = supported.length
      ? `supported values: ${supported.map((v) => JSON.stringify(v)).join(', ')}`
      : '';
    return cause(
      'FieldValueNotSupported',
      field,
      withDetail(`Unsupported value: ${renderValue(value)}`, detail),
    );
  },
  duplicate(field: FieldRef, value: unknown): StatusCause {
    return cause('FieldValueDuplicate', field, `Duplicate value: ${renderValue(value)}`);
  },
  notFound(field: FieldRef, value: unknown): StatusCause {
    return cause('FieldValueNotFound', field, `Not found: ${renderValue(value)}`);
  },
  forbidden(field: FieldRef, detail: string): StatusCause {
    return cause('FieldValueForbidden', field, withDetail('Forbidden', detail));
  },
  tooLong(field: FieldRef, maxBytes: number): StatusCause {
    return cause('FieldValueTooLong', field, `Too long: must have at most ${maxBytes} bytes`);
  },
  immutable(field: FieldRef, value: unknown): StatusCause {
    return FieldError.invalid(field, value, 'field is immutable');
  },
};

/** Builds field paths the way field.Path prints them: `a.b[0].c[key]`. */
export class FieldPath {
  private constructor(private readonly text: string) {}

  static root(name = ''): FieldPath {
    return new FieldPath(name);
  }

  child(...names: string[]): FieldPath {
    return new FieldPath(names.reduce((acc, name) => (acc ? `${acc}.${name}` : name), this.text));
  }

  index(i: number): FieldPath {
    return new FieldPath(`${this.text}[${i}]`);
  }

  key(k: string): FieldPath {
    return new FieldPath(`${this.text}[${k}]`);
  }

  toString(): string {
    return this.text;
  }
}

export type Causes = StatusCause[];

export function nonNegative(value: unknown, path: FieldPath): Causes {
  return typeof value === 'number' && value < 0
    ? [FieldError.invalid(path, value, 'must be greater than or equal to 0')]
    : [];
}

export function oneOf(value: unknown, path: FieldPath, supported: readonly string[]): Causes {
  if (value === undefined || value === null) return [];
  return supported.includes(value as string) ? [] : [FieldError.notSupported(path, value, supported)];
}

export function isEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a).filter((k) => (a as any)[k] !== undefined);
  const bKeys = Object.keys(b).filter((k) => (b as any)[k] !== undefined);
  if (aKeys.length !== bKeys.length) return false;
  return aKeys.every((k) => isEqual((a as any)[k], (b as any)[k]));
}
