import { deriveSeed, hashString } from './prng';

describe('seed derivation', () => {
  it('hashString is FNV-1a (32-bit test vectors)', () => {
    expect(hashString('')).toBe(0x811c9dc5);
    expect(hashString('a')).toBe(0xe40c292c);
    expect(hashString('foobar')).toBe(0xbf9cf968);
  });

  it('deriveSeed separates labels and seeds, is deterministic, and gives uint32s', () => {
    const seeds = new Set<number>();
    for (const seed of [0, 1, 2, 3]) {
      for (const label of ['conv1/kernel', 'conv2/kernel', 'dropout/0', 'dropout/1']) {
        const s = deriveSeed(seed, label);
        expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
        seeds.add(s);
      }
    }
    expect(seeds.size).toBe(16);
    expect(deriveSeed(1, 'x')).toBe(deriveSeed(1, 'x'));
  });
});
