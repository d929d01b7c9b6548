export { renderTable } from './table';
export type { TableOptions } from './table';
export { humanDuration } from './human-duration';
