export * from './registry';
export * from './object';
export * from './errors';
export * from './selectors';
export * from './tables';
