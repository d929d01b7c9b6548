/**
 * The file is not a snapshot we can import: not bbolt, damaged, or bbolt without etcd's MVCC data.
 * The message names the first problem found, so an operator can tell a truncated copy from a wrong file.
 */
export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
}
