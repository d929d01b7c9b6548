export { applyPatch, PatchType } from './apply-patch';
export { jsonMergePatch } from './json-merge-patch';
export { strategicMergePatch } from './strategic-merge-patch';
export { serverSideApply, trackUpdate, ServerSideApplyArgs, TrackUpdateArgs } from './managed-fields';
