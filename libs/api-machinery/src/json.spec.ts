import { encodeJsonBytes, RawJson, RawJsonArray } from './json';

const encodeJson = (value: unknown): string => encodeJsonBytes(value).toString('utf8');

describe('encodeJsonBytes', () => {
  it('writes RawJson text verbatim where the value sits, at any depth and in arrays', () => {
    const body = '{"b": [1, 2], "a": "x"}';
    const encoded = encodeJson({
      id: 1,
      result: { items: [new RawJson(body), { plain: true }, new RawJson('[]')] },
      nested: { deeper: { raw: new RawJson('"text"') } },
    });
    expect(encoded).toBe(
      `{"id":1,"result":{"items":[${body},{"plain":true},[]]},"nested":{"deeper":{"raw":"text"}}}`,
    );
    expect(encodeJson(new RawJson('{"top": null}'))).toBe('{"top": null}');
  });

  it('leaves strings with quotes, backslashes, control characters and unicode to JSON.stringify', () => {
    const text = 'quote " backslash \\ newline \n nul \u0000 émoji 🦀 ЖЖ \u2028';
    const value = { text, [text]: [text], raw: new RawJson(JSON.stringify({ text })) };
    const encoded = encodeJson(value);
    expect(JSON.parse(encoded)).toEqual({ text, [text]: [text], raw: { text } });
    expect(encodeJson({ text, [text]: [text] })).toBe(JSON.stringify({ text, [text]: [text] }));
  });

  it('handles undefined, null, functions, Dates and toJSON as JSON.stringify does', () => {
    const value = {
      gone: undefined,
      fn: () => 1,
      kept: null,
      list: [undefined, null, () => 1, Symbol('s'), new RawJson('1')],
      when: new Date(0),
      custom: { toJSON: () => ({ replaced: new RawJson('true') }) },
    };
    expect(encodeJson(value)).toBe(
      '{"kept":null,"list":[null,null,null,null,1],"when":"1970-01-01T00:00:00.000Z","custom":{"replaced":true}}',
    );
    expect(() => encodeJsonBytes(undefined)).toThrow(TypeError);
    expect(encodeJson(null)).toBe('null');
    expect(encodeJson('a"b')).toBe('"a\\"b"');
  });

  it('is not fooled by data that looks like its placeholders', () => {
    // Learn what a placeholder looks like the only way data could: from a nested JSON.stringify call.
    let seen = '';
    const spy = {
      toJSON() {
        seen = JSON.stringify(new RawJson('0'));
        return 'spy';
      },
    };
    expect(encodeJson([spy, new RawJson('{"a": 0}')])).toBe('["spy",{"a":0}]');
    expect(seen).toBe('0');
    const lookalikes = Array.from({ length: 3 }, (_, i) => `\u0000rawjson:x:${i}`);
    const value = { lookalikes, raw: new RawJson('{"r": 1}') };
    expect(JSON.parse(encodeJson(value))).toEqual({ lookalikes, raw: { r: 1 } });
  });

  it('gives plain JSON.stringify the decoded value of a RawJson', () => {
    expect(JSON.stringify({ a: new RawJson('{"b": [1, "\\u00e9"]}') })).toBe('{"a":{"b":[1,"é"]}}');
  });
});

describe('encodeJsonBytes with text outside ASCII', () => {
  it('sizes its buffer in bytes, for multi-byte text inside and between raw texts', () => {
    const raw = '{"name": "émoji 🦀", "n": [1, 2]}';
    const value = {
      before: 'ЖЖ \u2028 "quoted"',
      items: [new RawJson(raw), 'après', new RawJson('"日本"'), new RawJson('null')],
      after: { lone: '\ud800' },
    };
    // A buffer sized in characters would cut the text short, or end in bytes never written.
    expect(encodeJsonBytes(value).toString('utf8')).toBe(
      `{"before":${JSON.stringify(value.before)},"items":[${raw},"après","日本",null],"after":{"lone":"\\ud800"}}`,
    );
  });

  it('encodes values without RawJson, a lone RawJson, and the decoded fallback', () => {
    expect(encodeJsonBytes({ a: [1, 'é'] }).toString('utf8')).toBe('{"a":[1,"é"]}');
    expect(encodeJsonBytes(new RawJson('{"top": "ü"}')).toString('utf8')).toBe('{"top": "ü"}');
    const spy = { toJSON: () => (JSON.stringify(new RawJson('0')), 'spy') };
    expect(encodeJsonBytes([spy, new RawJson('{"a": "ö"}')]).toString('utf8')).toBe('["spy",{"a":"ö"}]');
  });
});

describe('RawJsonArray', () => {
  it('is encoded as its elements: RawJson texts verbatim, anything else as JSON.stringify writes it', () => {
    const items = new RawJsonArray<unknown>();
    items.push(new RawJson('{"a": "é"}'), { b: [1, 'ü'] }, undefined, new RawJson('[]'), () => 1, null);
    const raw = new RawJsonArray<unknown>();
    raw.push(new RawJson('1'));
    const value = {
      before: 'x',
      items,
      empty: new RawJsonArray(),
      nested: [{ raw }],
      after: new RawJson('2'),
    };
    expect(encodeJson(value)).toBe(
      '{"before":"x","items":[{"a": "é"},{"b":[1,"ü"]},null,[],null,null],"empty":[],"nested":[{"raw":[1]}],"after":2}',
    );
  });

  it('is a plain array everywhere else', () => {
    const items = new RawJsonArray<RawJson | number>();
    items.push(new RawJson('{"a": 1}'), 2);
    expect(Array.isArray(items)).toBe(true);
    expect(items.length).toBe(2);
    expect(JSON.stringify({ items })).toBe('{"items":[{"a":1},2]}');
  });
});
