import { KeyFilter } from './key-filter';

describe('KeyFilter', () => {
  it('never forgets a key it was given and rarely claims one it was not', () => {
    const filter = new KeyFilter();
    const added = Array.from({ length: 100_000 }, (_, i) => `/registry/configmaps/ns-${i % 97}/cm-${i}`);
    for (const key of added) filter.add(key);
    expect(added.every((key) => filter.mayHave(key))).toBe(true);
    const others = Array.from({ length: 100_000 }, (_, i) => `/registry/configmaps/ns-${i % 97}/other-${i}`);
    expect(others.filter((key) => filter.mayHave(key)).length).toBeLessThan(100);
  });
});
