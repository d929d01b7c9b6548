import { WriteSequence } from './sequence';

describe('WriteSequence', () => {
  const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('queues writes in issue order even when the earlier ones take longer to get there', async () => {
    const sequence = new WriteSequence();
    const queued: string[] = [];
    const committed: (() => void)[] = [];
    const write = (name: string, before: number) =>
      sequence.issue(async (onSequenced) => {
        await delay(before);
        queued.push(name);
        onSequenced();
        await new Promise<void>((resolve) => committed.push(resolve));
        return name;
      });
    const all = Promise.all([write('a', 20), write('b', 0), write('c', 5)]);
    while (queued.length < 3) await delay(1);
    // All three are queued before any has committed: the sequence waits for sequencing, not commits.
    expect(queued).toEqual(['a', 'b', 'c']);
    for (const commit of committed) commit();
    await expect(all).resolves.toEqual(['a', 'b', 'c']);
  });

  it('lets the next write go when one is refused before it is sequenced', async () => {
    const sequence = new WriteSequence();
    const refused = sequence.issue(() => Promise.reject(new Error('invalid')));
    const next = sequence.issue(async (onSequenced) => {
      onSequenced();
      return 'next';
    });
    await expect(refused).rejects.toThrow('invalid');
    await expect(next).resolves.toBe('next');
  });
});
