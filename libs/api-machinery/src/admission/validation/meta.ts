/** ObjectMeta, labels, annotations and label selectors: shared by every kind. */
import { Causes, FieldError, FieldPath } from '../field-errors';
import { labelValueProblems, qualifiedNameProblems, dns1123LabelProblems } from '../name-rules';

type Json = Record<string, any>;
export type NameRule = (name: string) => string[];

/** Annotations are kept in etcd with the object; upstream caps their total at 256 KiB. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateLabels(labels: Json | undefined, path: FieldPath): Causes {
  const causes: Causes = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    for (const problem of qualifiedNameProblems(key)) causes.push(FieldError.invalid(path, key, problem));
    for (const problem of labelValueProblems(String(value)))
      causes.push(FieldError.invalid(path, value, problem));
  }
  return causes;
}

export function validateAnnotations(annotations: Json | undefined, path: FieldPath): Causes {
  const causes: Causes = [];
  let totalSize = 0;
  for (const [key, value] of Object.entries(annotations ?? {})) {
    // Keys are checked case-insensitively so that mixed-case prefixes are accepted.
    for (const problem of qualifiedNameProblems(key.toLowerCase()))
      causes.push(FieldError.invalid(path, key, problem));
    totalSize += Buffer.byteLength(key) + Buffer.byteLength(String(value));
  }
  if (totalSize > TOTAL_ANNOTATION_SIZE_LIMIT)
    causes.push(FieldError.tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return causes;
}

export interface MetaRules {
  namespaced: boolean;
  nameRule: NameRule;
}

export function validateObjectMeta(meta: Json | undefined, rules: MetaRules): Causes {
  const path = FieldPath.root('metadata');
  const causes: Causes = [];
  const name: string | undefined = meta?.name;
  if (!name) {
    causes.push(FieldError.required(path.child('name'), 'name or generateName is required'));
  } else {
    for (const problem of rules.nameRule(name))
      causes.push(FieldError.invalid(path.child('name'), name, problem));
  }
  const namespace: string | undefined = meta?.namespace;
  if (rules.namespaced) {
    if (!namespace) causes.push(FieldError.required(path.child('namespace')));
    else
      for (const problem of dns1123LabelProblems(namespace))
        causes.push(FieldError.invalid(path.child('namespace'), namespace, problem));
  } else if (namespace) {
    causes.push(FieldError.forbidden(path.child('namespace'), 'not allowed on this type'));
  }
  causes.push(...validateLabels(meta?.labels, path.child('labels')));
  causes.push(...validateAnnotations(meta?.annotations, path.child('annotations')));
  return causes;
}

export function validateLabelSelector(selector: Json | undefined, path: FieldPath): Causes {
  if (!selector) return [];
  const causes: Causes = validateLabels(selector.matchLabels, path.child('matchLabels'));
  (selector.matchExpressions ?? []).forEach((expression: Json, i: number) => {
    const at = path.child('matchExpressions').index(i);
    const values: unknown[] = expression.values ?? [];
    if (expression.operator === 'In' || expression.operator === 'NotIn') {
      if (values.length === 0) {
        causes.push(
          FieldError.required(at.child('values'), "must be specified when `operator` is 'In' or 'NotIn'"),
        );
      }
    } else if (expression.operator === 'Exists' || expression.operator === 'DoesNotExist') {
      if (values.length > 0) {
        causes.push(
          FieldError.forbidden(
            at.child('values'),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          ),
        );
      }
    } else {
      causes.push(
        FieldError.invalid(at.child('operator'), expression.operator, 'not a valid selector operator'),
      );
    }
    for (const problem of qualifiedNameProblems(String(expression.key ?? ''))) {
      causes.push(FieldError.invalid(at.child('key'), expression.key, problem));
    }
  });
  return causes;
}

export function isEmptySelector(selector: Json): boolean {
  return Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions ?? []).length === 0;
}

/** Whether a set of labels satisfies a LabelSelector; an empty selector matches everything. */
export function selectorMatches(selector: Json, labels: Json | undefined): boolean {
  const have = labels ?? {};
  const labelsMatch = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => have[k] === v);
  return (
    labelsMatch &&
    (selector.matchExpressions ?? []).every((e: Json) => {
      const present = Object.prototype.hasOwnProperty.call(have, e.key);
      switch (e.operator) {
        case 'In':
          return present && (e.values ?? []).includes(have[e.key]);
        case 'NotIn':
          return !present || !(e.values ?? []).includes(have[e.key]);
        case 'Exists':
          return present;
        case 'DoesNotExist':
          return !present;
        default:
          return false;
      }
    })
  );
}
