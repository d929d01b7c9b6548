export { applyDefaults } from './defaults';
export { validateObject, invalid } from './validation';
export { convert } from './conversion';
export { parseQuantity } from './quantity';
