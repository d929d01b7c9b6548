export { applyDefaults } from './defaults';
export { validateObject, invalid } from './validation';
export { convert } from './conversion';
export { parseQuantity } from './quantity';
export {
  admitDefaultTolerationSeconds,
  DEFAULT_TOLERATION_SECONDS,
  NODE_NOT_READY_TAINT,
  NODE_UNREACHABLE_TAINT,
} from './default-toleration-seconds';
