/**
 * A small JSONPath-style predicate language over one object, for filters and breakpoints:
 *
 *   $.spec.replicas > 2
 *   $.status.containerStatuses[*].state.waiting.reason == "CrashLoopBackOff"
 *   $.metadata.labels['app.kubernetes.io/name'] =~ "^web" && !$.spec.paused
 *
 * A path may fan out (`[*]`, `.*`); a comparison holds when any value it reaches satisfies it, and a
 * bare path holds when it reaches a value that is not null, false or missing. Predicates are parsed
 * once into closures, so evaluating one per event costs no parsing.
 */

export type Predicate = (object: unknown) => boolean;

export class PredicateSyntaxError extends Error {
  constructor(source: string, position: number, what: string) {
    super(`invalid predicate at column ${position + 1}: ${what} in ${JSON.stringify(source)}`);
    this.name = 'PredicateSyntaxError';
  }
}

type Token =
  | { t: 'path'; steps: Step[]; at: number }
  | { t: 'op'; v: string; at: number }
  | { t: 'lit'; v: unknown; at: number }
  | { t: 'punct'; v: '(' | ')' | '!' | '&&' | '||'; at: number }
  | { t: 'end'; at: number };

type Step = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'all' };

const MAX_PREDICATE_LENGTH = 4096;
const OPERATORS = ['==', '!=', '>=', '<=', '=~', '>', '<'];

export function parsePredicate(source: string): Predicate {
  if (source.length > MAX_PREDICATE_LENGTH)
    throw new PredicateSyntaxError(source.slice(0, 40), 0, `longer than ${MAX_PREDICATE_LENGTH} characters`);
  const tokens = tokenize(source);
  let i = 0;
  const peek = () => tokens[i];
  const fail = (what: string): never => {
    throw new PredicateSyntaxError(source, peek().at, what);
  };

  const parseOr = (): Predicate => {
    const parts = [parseAnd()];
    while (isPunct(peek(), '||')) {
      i++;
      parts.push(parseAnd());
    }
    return parts.length === 1 ? parts[0] : (o) => parts.some((p) => p(o));
  };
  const parseAnd = (): Predicate => {
    const parts = [parseUnary()];
    while (isPunct(peek(), '&&')) {
      i++;
      parts.push(parseUnary());
    }
    return parts.length === 1 ? parts[0] : (o) => parts.every((p) => p(o));
  };
  const parseUnary = (): Predicate => {
    const token = peek();
    if (isPunct(token, '!')) {
      i++;
      const inner = parseUnary();
      return (o) => !inner(o);
    }
    if (isPunct(token, '(')) {
      i++;
      const inner = parseOr();
      if (!isPunct(peek(), ')')) fail('expected ")"');
      i++;
      return inner;
    }
    if (token.t !== 'path') return fail('expected a path starting with $');
    i++;
    const op = peek();
    if (op.t !== 'op') return (o) => select(o, token.steps).some(truthy);
    i++;
    const literal = peek();
    if (literal.t !== 'lit') return fail('expected a literal (number, "string", true, false or null)');
    i++;
    return comparison(token.steps, op.v, literal.v, () => fail('=~ needs a valid regular expression string'));
  };

  const predicate = parseOr();
  if (peek().t !== 'end') fail('unexpected input');
  return predicate;
}

function comparison(steps: Step[], op: string, literal: unknown, badRegex: () => never): Predicate {
  if (op === '=~') {
    if (typeof literal !== 'string') badRegex();
    let pattern: RegExp;
    try {
      pattern = new RegExp(literal as string);
    } catch {
      return badRegex();
    }
    return (o) => select(o, steps).some((v) => typeof v === 'string' && pattern.test(v));
  }
  const test = (v: unknown): boolean => {
    switch (op) {
      case '==':
        return equal(v, literal);
      case '!=':
        return !equal(v, literal);
      default: {
        const [a, b] = comparable(v, literal);
        if (a === undefined || b === undefined) return false;
        if (op === '>') return a > b;
        if (op === '>=') return a >= b;
        if (op === '<') return a < b;
        return a <= b;
      }
    }
  };
  // `!=` on a path that reaches nothing holds: the field is not equal to the literal.
  if (op === '!=') return (o) => select(o, steps).every(test);
  return (o) => select(o, steps).some(test);
}

function equal(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'string') return String(a) === b;
  if (typeof a === 'string' && typeof b === 'number') return a === String(b);
  return a === b;
}

/** Numbers compare as numbers (numeric strings too, as quantities like replicas often are), strings as strings. */
function comparable(a: unknown, b: unknown): [number | string | undefined, number | string | undefined] {
  const na =
    typeof a === 'number'
      ? a
      : typeof a === 'string' && a.trim() !== '' && !Number.isNaN(Number(a))
        ? Number(a)
        : undefined;
  const nb =
    typeof b === 'number'
      ? b
      : typeof b === 'string' && b.trim() !== '' && !Number.isNaN(Number(b))
        ? Number(b)
        : undefined;
  if (na !== undefined && nb !== undefined) return [na, nb];
  if (typeof a === 'string' && typeof b === 'string') return [a, b];
  return [undefined, undefined];
}

function truthy(v: unknown): boolean {
  return v !== undefined && v !== null && v !== false;
}

export function select(root: unknown, steps: Step[]): unknown[] {
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if (value === null || typeof value !== 'object') continue;
      if (step.kind === 'all') next.push(...(Array.isArray(value) ? value : Object.values(value)));
      else if (step.kind === 'index') {
        if (Array.isArray(value) && step.index < value.length)
          next.push(value[step.index < 0 ? value.length + step.index : step.index]);
      } else if (!Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, step.key)) {
        next.push((value as Record<string, unknown>)[step.key]);
      }
    }
    current = next;
  }
  return current.filter((v) => v !== undefined);
}

function isPunct(token: Token, v: string): boolean {
  return token.t === 'punct' && token.v === v;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new PredicateSyntaxError(source, i, what);
  };
  while (i < source.length) {
    const c = source[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === '$') {
      i++;
      const steps: Step[] = [];
      for (;;) {
        if (source[i] === '.') {
          i++;
          if (source[i] === '*') {
            i++;
            steps.push({ kind: 'all' });
            continue;
          }
          const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(source.slice(i));
          if (!m) fail('expected a field name after "."');
          steps.push({ kind: 'key', key: m![0] });
          i += m![0].length;
        } else if (source[i] === '[') {
          i++;
          if (source[i] === '*' && source[i + 1] === ']') {
            i += 2;
            steps.push({ kind: 'all' });
            continue;
          }
          if (source[i] === '"' || source[i] === "'") {
            const { value, end } = readString(source, i, fail);
            i = end;
            steps.push({ kind: 'key', key: value });
          } else {
            const m = /^-?\d+/.exec(source.slice(i));
            if (!m) fail('expected an index, a quoted key or * inside []');
            steps.push({ kind: 'index', index: Number(m![0]) });
            i += m![0].length;
          }
          if (source[i] !== ']') fail('expected "]"');
          i++;
        } else break;
      }
      tokens.push({ t: 'path', steps, at });
      continue;
    }
    const two = source.slice(i, i + 2);
    if (two === '&&' || two === '||') {
      tokens.push({ t: 'punct', v: two, at });
      i += 2;
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (op) {
      tokens.push({ t: 'op', v: op, at });
      i += op.length;
      continue;
    }
    if (c === '(' || c === ')' || c === '!') {
      tokens.push({ t: 'punct', v: c, at });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const { value, end } = readString(source, i, fail);
      tokens.push({ t: 'lit', v: value, at });
      i = end;
      continue;
    }
    const number = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(source.slice(i));
    if (number) {
      tokens.push({ t: 'lit', v: Number(number[0]), at });
      i += number[0].length;
      continue;
    }
    const word = /^(true|false|null)\b/.exec(source.slice(i));
    if (word) {
      tokens.push({ t: 'lit', v: word[1] === 'null' ? null : word[1] === 'true', at });
      i += word[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c))
      fail(
        `expected a path starting with $ or a literal, found ${JSON.stringify(/^\w+/.exec(source.slice(i))![0])}`,
      );
    fail(`unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ t: 'end', at: source.length });
  return tokens;
}

function readString(
  source: string,
  start: number,
  fail: (what: string) => never,
): { value: string; end: number } {
  const quote = source[start];
  let value = '';
  let i = start + 1;
  while (i < source.length && source[i] !== quote) {
    if (source[i] === '\\' && i + 1 < source.length) {
      value += source[i + 1];
      i += 2;
    } else value += source[i++];
  }
  if (source[i] !== quote) fail('unterminated string');
  return { value, end: i + 1 };
}
