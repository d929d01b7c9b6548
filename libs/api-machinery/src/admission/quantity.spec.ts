import { parseQuantity } from './quantity';

describe('parseQuantity', () => {
  it.each([
    ['100m', 0.1],
    ['1', 1],
    ['1.5', 1.5],
    ['1Gi', 2 ** 30],
    ['500Mi', 500 * 2 ** 20],
    ['2k', 2000],
    ['1e3', 1000],
    ['-1', -1],
    [3, 3],
  ])('reads %p', (input, expected) => {
    expect(parseQuantity(input)).toBeCloseTo(expected as number);
  });

  it.each(['abc', '1Gb', '', '1..2', 'Gi', '1 Gi'])('rejects %p', (input) => {
    expect(parseQuantity(input)).toBeUndefined();
  });
});
