export { applyDefaults } from './defaults';
