import { randomBytes } from 'node:crypto';

/**
 * A value that is already JSON text, such as a body PostgreSQL returned as `jsonb::text`. Responses
 * carry it as it is so large bodies are neither parsed nor encoded again on their way out.
 */
export class RawJson {
  constructor(readonly text: string) {}

  /**
   * Inside encodeJsonBytes: a placeholder that it swaps for the text. Anywhere else (a plain
   * JSON.stringify, a test's comparison) the decoded value, so the output is right, only slower.
   */
  toJSON(): unknown {
    if (!splicing) return JSON.parse(this.text);
    splicing.push(this.text);
    return `${token}${splicing.length - 1}`;
  }
}

/**
 * An array of mostly RawJson values, such as the objects of a past state. encodeJsonBytes writes it
 * with one placeholder for the whole array instead of one per element: for 10,000 elements that is
 * 10,000 toJSON calls and placeholder searches fewer, about a third of the encoding's time. An
 * element that is not a RawJson is written by JSON.stringify, so a RawJson inside it comes out as
 * its decoded value. Anywhere else it is the array it holds.
 */
export class RawJsonArray<T = unknown> extends Array<T> {
  toJSON(): unknown {
    if (!splicing) return this;
    const outer = splicing;
    const parts = ['['];
    splicing = undefined;
    try {
      for (let i = 0; i < this.length; i++) {
        const item = this[i];
        if (i) parts.push(',');
        // JSON.stringify writes null for an array element that has no JSON text.
        parts.push(item instanceof RawJson ? item.text : (JSON.stringify(item) ?? 'null'));
      }
    } finally {
      splicing = outer;
    }
    parts.push(']');
    outer.push(parts);
    return `${token}${outer.length - 1}`;
  }
}

/**
 * What the placeholders met by the JSON.stringify call running now stand for, by index: a RawJson's
 * text, or the parts of a RawJsonArray's text.
 */
let splicing: (string | string[])[] | undefined;
/**
 * The start of every placeholder. Random, so object data cannot name it on purpose; a string that
 * still happens to look like one is noticed while splicing (see jsonParts).
 */
let token = '';
/**
 * How a placeholder's token appears in the output, after its opening quote: JSON.stringify writes
 * U+0000 as `\u0000`. Searched for without the quote, since a backslash is rare in JSON and a quote
 * is everywhere, and V8's search skips ahead to the pattern's first character.
 */
let quotedToken = '';
renewToken();

function renewToken(): void {
  token = `\u0000rawjson:${randomBytes(9).toString('base64url')}:`;
  quotedToken = JSON.stringify(token).slice(1, -1);
}

/**
 * The UTF-8 bytes of JSON.stringify's output, except that RawJson values anywhere inside are written
 * as their text, verbatim. Bytes rather than a string because they go to a socket: a large answer (a
 * past state is ~10 MB of RawJson texts) is written into one buffer of its exact size, where a spliced
 * string would be copied once to splice it and again when the socket encodes it, and would sit on the
 * JavaScript heap for the garbage collector meanwhile.
 *
 * Node 20 has no hook for this: a replacer or toJSON can only return a value that JSON.stringify then
 * encodes (a string comes out quoted), and `JSON.rawJSON`, which exists for exactly this, arrived in
 * later V8 versions. Rather than a hand-written encoder that would walk every decoded object in
 * JavaScript (diffs and redacted Secrets are decoded, and large), each RawJson becomes a unique
 * placeholder string during one native JSON.stringify, and the placeholders are then replaced by the
 * texts. JSON.stringify escapes U+0000, so a placeholder appears in the output as `"\u0000rawjson:…"`.
 * Everything else (undefined, functions and symbols left out of objects and null in arrays, toJSON)
 * is JSON.stringify's own handling; a value with no JSON text at all (undefined) is refused.
 */
export function encodeJsonBytes(value: unknown): Buffer {
  const parts = jsonParts(value);
  if (parts[0] === undefined) throw new TypeError('the value has no JSON text');
  if (parts.length === 1) return Buffer.from(parts[0], 'utf8');
  let length = 0;
  for (const part of parts) length += Buffer.byteLength(part, 'utf8');
  const bytes = Buffer.allocUnsafe(length);
  let offset = 0;
  for (const part of parts) offset += bytes.write(part, offset, 'utf8');
  return bytes;
}

/**
 * The JSON text of a value as consecutive parts: pieces of JSON.stringify's output and, between them,
 * the texts their placeholders stood for.
 *
 * The parts are kept only when every placeholder was found once, in order, and nothing else looked
 * like one. Otherwise data resembled a placeholder (a fresh token settles that) or a toJSON ran a
 * JSON.stringify of its own over a RawJson; the last resort is JSON.stringify of the decoded texts.
 */
function jsonParts(value: unknown): string[] {
  for (let attempt = 0; attempt < 2; attempt++) {
    const texts: (string | string[])[] = [];
    splicing = texts;
    let encoded: string;
    try {
      encoded = JSON.stringify(value);
    } finally {
      splicing = undefined;
    }
    if (!texts.length) return [encoded];
    // JSON.stringify calls toJSON as it writes each value, so placeholder i is the i-th in the output.
    const parts: string[] = [];
    let from = 0;
    let found = 0;
    let at = encoded.indexOf(quotedToken);
    for (; found < texts.length && at > 0 && encoded[at - 1] === '"'; found++) {
      const index = String(found);
      const end = at + quotedToken.length + index.length;
      if (!encoded.startsWith(index, at + quotedToken.length) || encoded[end] !== '"') break;
      parts.push(encoded.slice(from, at - 1));
      const text = texts[found];
      if (typeof text === 'string') parts.push(text);
      else for (const part of text) parts.push(part);
      from = end + 1;
      at = encoded.indexOf(quotedToken, from);
    }
    if (found === texts.length && at < 0) {
      parts.push(encoded.slice(from));
      return parts;
    }
    renewToken();
  }
  return [JSON.stringify(value)];
}
