import { isJsonObject, JsonObject } from './json-values';

/**
 * RFC 7386: objects merge recursively, `null` removes a member, anything else (arrays included)
 * replaces the target. Returns a new value that shares nothing with either argument.
 */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  return mergeOwned(structuredClone(target), patch);
}

/** `target` is already a private copy, so it can be filled in place. */
function mergeOwned(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return structuredClone(patch);
  const result: JsonObject = isJsonObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergeOwned(result[key], value);
  }
  return result;
}
