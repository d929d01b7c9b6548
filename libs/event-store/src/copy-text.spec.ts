import { copyTextRow } from './copy-text';

describe('COPY text rows', () => {
  it('separates fields by tabs, ends the row with a newline and writes NULL as \\N', () => {
    expect(copyTextRow([1, 'a', null, 42])).toBe('1\ta\t\\N\t42\n');
  });

  it('escapes backslash, tab, newline and carriage return, so a value can look like \\N or \\.', () => {
    expect(copyTextRow(['a\\b\tc\nd\re', '\\N', '\\.'])).toBe('a\\\\b\\tc\\nd\\re\t\\\\N\t\\\\.\n');
  });

  it('leaves other text, unicode included, as it is: the connection carries it as UTF-8', () => {
    expect(copyTextRow(['ünï😀 "x" \u0001', '{"a":"\\u0000"}'])).toBe(
      'ünï😀 "x" \u0001\t{"a":"\\\\u0000"}\n',
    );
  });

  it('writes bytea in hex behind an escaped backslash', () => {
    expect(copyTextRow([Buffer.from([0, 9, 10, 92, 255]), Buffer.alloc(0)])).toBe('\\\\x00090a5cff\t\\\\x\n');
  });
});
