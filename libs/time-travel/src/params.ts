import { RpcCodes, RpcError } from './rpc';

/** Typed readers for by-name params; a wrong type is an InvalidParams error naming the field. */
export class Params {
  constructor(
    private readonly raw: Record<string, unknown>,
    private readonly prefix = '',
  ) {}

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  string(name: string): string {
    const value = this.optionalString(name);
    if (value === undefined) throw invalid(`${this.prefix}${name} is required (a string)`);
    return value;
  }

  optionalString(name: string): string | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || !value)
      throw invalid(`${this.prefix}${name} must be a non-empty string`);
    return value;
  }

  integer(name: string, min = 0): number {
    const value = this.optionalInteger(name, min);
    if (value === undefined) throw invalid(`${this.prefix}${name} is required (an integer)`);
    return value;
  }

  optionalInteger(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw invalid(`${this.prefix}${name} must be an integer between ${min} and ${max}`);
    }
    return value;
  }

  optionalNumber(name: string, min: number): number | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min)
      throw invalid(`${this.prefix}${name} must be a number >= ${min}`);
    return value;
  }

  boolean(name: string): boolean {
    const value = this.raw[name];
    if (value === undefined || value === null) return false;
    if (typeof value !== 'boolean') throw invalid(`${this.prefix}${name} must be a boolean`);
    return value;
  }

  optionalTime(name: string): Date | undefined {
    const value = this.optionalString(name);
    if (value === undefined) return undefined;
    const time = new Date(value);
    if (Number.isNaN(time.getTime())) throw invalid(`${this.prefix}${name} must be an RFC 3339 time`);
    return time;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.optionalString(name);
    if (value === undefined) return fallback;
    if (!allowed.includes(value as T))
      throw invalid(`${this.prefix}${name} must be one of ${allowed.join(', ')}`);
    return value as T;
  }

  optionalObject(name: string): Params | undefined {
    const value = this.raw[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value))
      throw invalid(`${this.prefix}${name} must be an object`);
    return new Params(value as Record<string, unknown>, `${this.prefix}${name}.`);
  }

  object(name: string): Params {
    const value = this.optionalObject(name);
    if (!value) throw invalid(`${this.prefix}${name} is required (an object)`);
    return value;
  }

  stringList(name: string): string[] {
    const value = this.raw[name];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
      throw invalid(`${this.prefix}${name} must be a list of strings`);
    return value as string[];
  }

  list(name: string): unknown[] {
    const value = this.raw[name];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw invalid(`${this.prefix}${name} must be a list`);
    return value;
  }

  value(name: string): unknown {
    return this.raw[name];
  }

  field(name: string): string {
    return `${this.prefix}${name}`;
  }
}

export function invalid(message: string): RpcError {
  return new RpcError(RpcCodes.InvalidParams, message);
}
