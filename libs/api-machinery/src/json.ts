import { randomBytes } from 'node:crypto';

/**
 * A value that is already JSON text, such as a body PostgreSQL returned as `jsonb::text`. Responses
 * carry it as it is so large bodies are neither parsed nor encoded again on their way out.
 */
export class RawJson {
  constructor(readonly text: string) {}

  /**
   * Inside encodeJson: a placeholder that encodeJson swaps for the text. Anywhere else (a plain
   * JSON.stringify, a test's comparison) the decoded value, so the output is right, only slower.
   */
  toJSON(): unknown {
    if (!splicing) return JSON.parse(this.text);
    splicing.push(this.text);
    return `${token}${splicing.length - 1}`;
  }
}

/** Texts of the RawJson values met by the JSON.stringify call running now, by placeholder index. */
let splicing: string[] | undefined;
/**
 * The start of every placeholder. Random, so object data cannot name it on purpose; a string that
 * still happens to look like one is noticed while splicing (see encodeJson).
 */
let token = '';
/** A placeholder as it appears in the output: the quoted token and index. */
let placeholder = /$^/g;
renewToken();

function renewToken(): void {
  token = `\u0000rawjson:${randomBytes(9).toString('base64url')}:`;
  const quoted = JSON.stringify(token).slice(0, -1);
  placeholder = new RegExp(`${quoted.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(\\d+)"`, 'g');
}

/**
 * JSON.stringify, except that RawJson values anywhere inside are written as their text, verbatim.
 *
 * Node 20 has no hook for this: a replacer or toJSON can only return a value that JSON.stringify then
 * encodes (a string comes out quoted), and `JSON.rawJSON`, which exists for exactly this, arrived in
 * later V8 versions. Rather than a hand-written encoder that would walk every decoded object in
 * JavaScript (diffs and redacted Secrets are decoded, and large), each RawJson becomes a unique
 * placeholder string during one native JSON.stringify, and the placeholders are then replaced by the
 * texts. JSON.stringify escapes U+0000, so a placeholder appears in the output as `"\u0000rawjson:…"`.
 * Everything else (undefined, functions and symbols left out of objects and null in arrays, toJSON,
 * undefined for a top-level undefined) is JSON.stringify's own handling.
 *
 * The splice is kept only when every placeholder was found exactly once and nothing else looked like
 * one. Otherwise data resembled a placeholder (a fresh token settles that) or a toJSON ran a
 * JSON.stringify of its own over a RawJson; the last resort is JSON.stringify of the decoded texts.
 */
export function encodeJson(value: unknown): string {
  for (let attempt = 0; attempt < 2; attempt++) {
    const texts: string[] = [];
    splicing = texts;
    let encoded: string;
    try {
      encoded = JSON.stringify(value);
    } finally {
      splicing = undefined;
    }
    if (!texts.length) return encoded;
    const seen = new Set<number>();
    let clean = true;
    const spliced = encoded.replace(placeholder, (match, index: string) => {
      const i = Number(index);
      if (seen.has(i) || i >= texts.length) clean = false;
      seen.add(i);
      return texts[i] ?? match;
    });
    if (clean && seen.size === texts.length) return spliced;
    renewToken();
  }
  return JSON.stringify(value);
}
