export { applyPatch } from './apply-patch';
export type { PatchType } from './apply-patch';
export { jsonMergePatch } from './json-merge-patch';
export { strategicMergePatch } from './strategic-merge-patch';
export { serverSideApply, trackUpdate } from './managed-fields';
export type { ServerSideApplyArgs, TrackUpdateArgs } from './managed-fields';
