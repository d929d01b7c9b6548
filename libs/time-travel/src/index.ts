export { TimeTravelService, MAX_MESSAGE_BYTES } from './service';
export type { TimeTravelOptions } from './context';
export { Session } from './session';
export type { Sink } from './session';
export { RpcCodes, RpcError } from './rpc';
export type { RpcResponse, RpcNotification } from './rpc';
export { parsePredicate } from './predicate';
export { NATIVE_FORMAT, readSnapshot } from './snapshot-format';
