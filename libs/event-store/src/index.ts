export * from './types';
export { EventStore, EventStoreOptions } from './event-store';
export { BranchHead } from './branch';
export {
  BodyTransformer,
  plaintextBodies,
  groupResource,
  EVENT_COLUMNS,
  EventRow,
  eventFromRow,
  objectOf,
  selectEventColumns,
} from './rows';
export { migrate, createPool, MIGRATIONS } from './database';
export { prefixEnd } from './history';
export { BranchCatalog, BranchInfo, BranchExists, BranchHistoryBusy, InvalidBranchName } from './branches';
export { ControllerProgressStore } from './progress';
export {
  IMPORT_BATCH,
  ImportBranchOptions,
  ImportBranchResult,
  ImportChange,
  ImportDelete,
  ImportPut,
} from './bulk-import';
