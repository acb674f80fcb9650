import { formatTick, linearTicks, logTicks, smooth } from './plot';

describe('plot axes', () => {
  it('linearTicks gives round steps of 1, 2 or 5 × 10^k covering the range', () => {
    expect(linearTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearTicks(0.13, 2.41)).toEqual([0.5, 1, 1.5, 2]);
    expect(linearTicks(0, 600, 6)).toEqual([0, 100, 200, 300, 400, 500, 600]);
    expect(linearTicks(3, 3)).toEqual([3]);
  });

  it('logTicks gives 1, 2, 5 × 10^k inside the range, only powers of ten over many decades', () => {
    expect(logTicks(0.003, 0.3)).toEqual([0.005, 0.01, 0.02, 0.05, 0.1, 0.2]);
    expect(logTicks(1e-4, 10)).toEqual([1e-4, 1e-3, 0.01, 0.1, 1, 10]);
  });

  it('formatTick prints short labels', () => {
    expect([0, 0.05, 1e-4, 120, 25000, 0.1 + 0.2].map(formatTick)).toEqual(['0', '0.05', '1e-4', '120', '25k', '0.3']);
  });

  it('smooth is a bias-corrected exponential moving average', () => {
    expect(smooth([2, 2, 2])).toEqual([2, 2, 2].map((v) => expect.closeTo(v, 12)));
    const s = smooth([1, 0], 0.5); // m1 = 0.5 → 1; m2 = 0.25 → 0.25 / 0.75
    expect(s[0]).toBeCloseTo(1, 12);
    expect(s[1]).toBeCloseTo(1 / 3, 12);
  });
});
