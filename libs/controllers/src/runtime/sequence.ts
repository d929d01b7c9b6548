/**
 * Writes submitted to the event store in the order they were issued, without each waiting for the
 * one before it to commit: a write starts once the previous one is sequenced (queued in the store,
 * so it gets the earlier revision) or settled (refused before it reached the store). Revisions
 * therefore come out in issue order on every replay, while the store commits many of them per
 * transaction.
 */
export class WriteSequence {
  private gate: Promise<void> = Promise.resolve();

  issue<T>(write: (onSequenced: () => void) => Promise<T>): Promise<T> {
    let open!: () => void;
    const next = new Promise<void>((resolve) => (open = resolve));
    const result = this.gate.then(() => write(open));
    result.then(open, open);
    this.gate = next;
    return result;
  }
}
