import { decodeKeyValue, encodeKeyValue, encodeLease, leaseKey, parseRevisionKey, revisionKey } from './mvcc';

describe('revision keys', () => {
  it('are 17 big-endian bytes, 18 with the tombstone marker, and sort in revision order', () => {
    expect(revisionKey(2, 0).toString('hex')).toBe('0000000000000002' + '5f' + '0000000000000000');
    expect(revisionKey(0x0102, 3, true).toString('hex')).toBe(
      '0000000000000102' + '5f' + '0000000000000003' + '74',
    );
    const keys = [revisionKey(255, 0), revisionKey(2, 1), revisionKey(256, 0), revisionKey(2, 0, true)];
    const sorted = [...keys].sort(Buffer.compare).map((k) => parseRevisionKey(k));
    expect(sorted).toEqual([
      { main: 2, sub: 0, tombstone: true },
      { main: 2, sub: 1, tombstone: false },
      { main: 255, sub: 0, tombstone: false },
      { main: 256, sub: 0, tombstone: false },
    ]);
  });

  it('rejects anything else', () => {
    expect(parseRevisionKey(Buffer.from('/registry/pods/a'))).toBeUndefined();
    expect(parseRevisionKey(Buffer.concat([revisionKey(2, 0), Buffer.from('x')]))).toBeUndefined();
    const noSeparator = revisionKey(2, 0);
    noSeparator[8] = 0x2d;
    expect(parseRevisionKey(noSeparator)).toBeUndefined();
  });
});

describe('mvccpb.KeyValue', () => {
  it('encodes the fields in order and omits zero ones, as proto3 does', () => {
    const kv = encodeKeyValue({
      key: Buffer.from('k'),
      createRevision: 2,
      modRevision: 300,
      version: 1,
      value: Buffer.from('v'),
    });
    // 1:"k" 2:2 3:300 (varint ac 02) 4:1 5:"v"
    expect(kv.toString('hex')).toBe('0a016b' + '1002' + '18ac02' + '2001' + '2a0176');
    expect(encodeKeyValue({ key: Buffer.from('gone') }).toString('hex')).toBe('0a04676f6e65');
  });

  it('round-trips large revisions and 63-bit lease IDs exactly', () => {
    const kv = {
      key: Buffer.from('/registry/leases/x'),
      createRevision: 2 ** 40 + 1,
      modRevision: Number.MAX_SAFE_INTEGER,
      version: 7,
      value: Buffer.alloc(300, 1),
      lease: 0x694d7f2c8a3e1234n,
    };
    expect(decodeKeyValue(encodeKeyValue(kv))).toEqual(kv);
  });

  it('skips unknown fields and fails on truncated input', () => {
    const withUnknown = Buffer.concat([
      encodeKeyValue({ key: Buffer.from('k'), version: 1 }),
      Buffer.from('3d01020304', 'hex'),
    ]);
    expect(decodeKeyValue(withUnknown).version).toBe(1);
    expect(() => decodeKeyValue(Buffer.from('0a05ab', 'hex'))).toThrow('runs past the end');
    expect(() => decodeKeyValue(Buffer.from('10ffff', 'hex'))).toThrow('varint runs past the end');
  });
});

describe('leases', () => {
  it('are keyed by the big-endian ID and hold leasepb.Lease{ID, TTL}', () => {
    expect(leaseKey(0x0102n).toString('hex')).toBe('0000000000000102');
    expect(encodeLease(5n, 600).toString('hex')).toBe('0805' + '10d804');
  });
});
