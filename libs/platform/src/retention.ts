/** "Resources R older than N seconds keep only their latest version." */
export interface RetentionRule {
  /** `group/resource`, or `resource` for the core group or when the name is unique. */
  resources: string[];
  olderThanSeconds: number;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `10m`, `1h`, `7d` -> seconds; undefined when the text is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] || 's'];
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

/**
 * Rules written as comma-separated `resource=age` items, where resources listed without an age share
 * the next one's: `coordination.k8s.io/leases=1h,events=1h` is two rules, `leases,events=1h` one rule
 * over both. Only the syntax is checked here; which resources exist is the server's registry's say.
 */
export function parseRetentionRules(text: string): RetentionRule[] {
  const rules: RetentionRule[] = [];
  let pending: string[] = [];
  for (const item of text.split(',').map((i) => i.trim())) {
    if (!item) throw new Error(`empty entry in ${JSON.stringify(text)}`);
    const [resource, age, ...rest] = item.split('=').map((p) => p.trim());
    if (!resource || rest.length) throw new Error(`"${item}" is not resource or resource=age`);
    pending.push(resource);
    if (age === undefined) continue;
    const olderThanSeconds = parseDuration(age);
    if (olderThanSeconds === undefined) throw new Error(`"${age}" is not an age such as 90s, 10m, 1h or 7d`);
    rules.push({ resources: pending, olderThanSeconds });
    pending = [];
  }
  if (pending.length) throw new Error(`${pending.join(', ')}: no age given (write ${pending.at(-1)}=1h)`);
  return rules;
}
