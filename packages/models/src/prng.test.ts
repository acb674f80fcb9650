import { Rng, deriveSeed, hashString } from './prng';

describe('Rng (xoshiro128** seeded by splitmix32)', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(xa);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(xa);
  });

  it('uniforms have mean 1/2 and variance 1/12; normals mean 0 and variance 1', () => {
    const r = new Rng(7);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      s += u;
      s2 += u * u;
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    // Standard errors: mean 0.29/√n ≈ 6.5e-4, variance ≈ 2e-4; allow ~5 sd.
    expect(Math.abs(s / n - 0.5)).toBeLessThan(3.5e-3);
    expect(Math.abs(s2 / n - (s / n) ** 2 - 1 / 12)).toBeLessThan(1.5e-3);
    let m = 0;
    let m2 = 0;
    let m4 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      m += z;
      m2 += z * z;
      m4 += z ** 4;
    }
    // Mean sd 1/√n ≈ 2.2e-3, variance sd √(2/n) ≈ 3.2e-3, kurtosis 3 with sd √(96/n) ≈ 0.022.
    expect(Math.abs(m / n)).toBeLessThan(0.012);
    expect(Math.abs(m2 / n - 1)).toBeLessThan(0.016);
    expect(Math.abs(m4 / n - 3)).toBeLessThan(0.11);
  });

  it('deriveSeed separates labels and seeds; hashString is FNV-1a', () => {
    // FNV-1a 32-bit test vectors: "" → 0x811c9dc5, "a" → 0xe40c292c.
    expect(hashString('')).toBe(0x811c9dc5);
    expect(hashString('a')).toBe(0xe40c292c);
    expect(deriveSeed(1, 'conv1/kernel')).not.toBe(deriveSeed(1, 'conv2/kernel'));
    expect(deriveSeed(1, 'conv1/kernel')).not.toBe(deriveSeed(2, 'conv1/kernel'));
    expect(deriveSeed(1, 'x')).toBe(deriveSeed(1, 'x'));
  });

  it('refuses a non-finite seed', () => {
    expect(() => new Rng(Number.NaN)).toThrow(/seed must be a finite number/);
  });
});
