/**
 * Protobuf wire format, written by hand: the codec needs only varints, length-delimited fields and
 * fixed64, and a general protobuf library would bring a runtime dependency plus a .proto loading
 * step for a format this small. Reader errors are WireError so the codec can turn them into 400s.
 */

export const WireType = { VARINT: 0, FIXED64: 1, LENGTH_DELIMITED: 2, FIXED32: 5 } as const;

export class WireError extends Error {}

const MAX_VARINT_BYTES = 10;

export class WireReader {
  private position: number;

  constructor(
    private readonly buffer: Buffer,
    start = 0,
    private readonly end = buffer.length,
  ) {
    this.position = start;
  }

  get offset(): number {
    return this.position;
  }

  done(): boolean {
    return this.position >= this.end;
  }

  /** Reads a tag and returns field number and wire type; rejects numbers and types protobuf forbids. */
  tag(): { fieldNumber: number; wireType: number } {
    const at = this.position;
    const value = this.varint();
    const fieldNumber = Number(value >> 3n);
    const wireType = Number(value & 7n);
    if (fieldNumber === 0 || value >> 3n > 0x1fffffffn) {
      throw new WireError(`invalid field number ${value >> 3n} at offset ${at}`);
    }
    if (wireType === 3 || wireType === 4) throw new WireError(`unsupported group wire type at offset ${at}`);
    if (wireType === 6 || wireType === 7)
      throw new WireError(`invalid wire type ${wireType} at offset ${at}`);
    return { fieldNumber, wireType };
  }

  varint(): bigint {
    const start = this.position;
    let result = 0n;
    for (let index = 0; index < MAX_VARINT_BYTES; index++) {
      if (this.position >= this.end) throw new WireError(`truncated varint at offset ${start}`);
      const byte = this.buffer[this.position++];
      result |= BigInt(byte & 0x7f) << BigInt(7 * index);
      if (byte < 0x80) return result;
    }
    throw new WireError(`varint longer than ${MAX_VARINT_BYTES} bytes at offset ${start}`);
  }

  fixed64(): Buffer {
    return this.take(8, 'fixed64 value');
  }

  fixed32(): Buffer {
    return this.take(4, 'fixed32 value');
  }

  bytes(): Buffer {
    const at = this.position;
    const length = this.varint();
    const remaining = this.end - this.position;
    if (length > BigInt(remaining)) {
      throw new WireError(
        `length-delimited field at offset ${at} declares ${length} bytes but only ${remaining} remain`,
      );
    }
    return this.take(Number(length), 'length-delimited value');
  }

  skip(wireType: number): void {
    if (wireType === WireType.VARINT) this.varint();
    else if (wireType === WireType.FIXED64) this.fixed64();
    else if (wireType === WireType.LENGTH_DELIMITED) this.bytes();
    else this.fixed32();
  }

  private take(length: number, what: string): Buffer {
    if (this.position + length > this.end)
      throw new WireError(`truncated ${what} at offset ${this.position}`);
    const slice = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return slice;
  }
}

export class WireWriter {
  private readonly chunks: Buffer[] = [];

  varintField(fieldNumber: number, value: bigint): void {
    this.tag(fieldNumber, WireType.VARINT);
    this.varint(value);
  }

  bytesField(fieldNumber: number, value: Buffer): void {
    this.tag(fieldNumber, WireType.LENGTH_DELIMITED);
    this.varint(BigInt(value.length));
    this.chunks.push(value);
  }

  fixed64Field(fieldNumber: number, value: Buffer): void {
    this.tag(fieldNumber, WireType.FIXED64);
    this.chunks.push(value);
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }

  private tag(fieldNumber: number, wireType: number): void {
    this.varint((BigInt(fieldNumber) << 3n) | BigInt(wireType));
  }

  /** Negative numbers are written as their 64-bit two's complement, as Go's int32/int64 fields are. */
  private varint(value: bigint): void {
    let remaining = BigInt.asUintN(64, value);
    const bytes: number[] = [];
    while (remaining >= 0x80n) {
      bytes.push(Number(remaining & 0x7fn) | 0x80);
      remaining >>= 7n;
    }
    bytes.push(Number(remaining));
    this.chunks.push(Buffer.from(bytes));
  }
}
