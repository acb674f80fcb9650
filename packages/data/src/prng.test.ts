import { Rng } from '@lets/runtime';
import { normal, permutation, streamRng, streamSeed } from './prng';

describe('streamSeed / streamRng', () => {
  it('is a safe integer, reproducible, and differs across seeds and stream ids', () => {
    const seeds = [
      streamSeed(0), streamSeed(1), streamSeed(0, 1), streamSeed(0, 2), streamSeed(0, 1, 0), streamSeed(0, 0, 1),
      streamSeed(2 ** 40, 3), streamSeed(-5, 3),
    ];
    seeds.forEach((s) => expect(Number.isSafeInteger(s) && s >= 0).toBe(true));
    expect(new Set(seeds).size).toBe(seeds.length);
    expect(streamSeed(7, 3, 9)).toBe(streamSeed(7, 3, 9));
    const a = streamRng(42, 1);
    const b = streamRng(42, 1);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    // The stream is the runtime's generator seeded with streamSeed.
    const c = new Rng(streamSeed(42, 1));
    expect(Array.from({ length: 5 }, () => c.nextUint32())).toEqual(xs);
    expect(() => streamSeed(0.5)).toThrow(/expected a safe integer/);
  });

  it('neighbouring stream ids give uncorrelated uniforms', () => {
    // Pearson correlation of the first draw across streams (seed, 0..n−1): sd ≈ 1/√n = 0.01; allow 5 sd.
    const n = 10000;
    const u = Array.from({ length: n + 1 }, (_, i) => streamRng(1, i).nextFloat());
    let sx = 0, sy = 0, sxy = 0, sxx = 0, syy = 0;
    for (let i = 0; i < n; i++) {
      const x = u[i]!, y = u[i + 1]!;
      sx += x; sy += y; sxy += x * y; sxx += x * x; syy += y * y;
    }
    const r = (sxy - (sx * sy) / n) / Math.sqrt((sxx - (sx * sx) / n) * (syy - (sy * sy) / n));
    expect(Math.abs(r)).toBeLessThan(0.05);
    expect(Math.abs(sx / n - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
  });

  it('normal draws have mean 0 and variance 1', () => {
    // n = 1e5: sd of the mean 1/√n ≈ 3.2e-3, of the mean square √(2/n) ≈ 4.5e-3; allow 5 sd.
    const n = 100000;
    const r = streamRng(3);
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = normal(r);
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(s2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });
});

describe('permutation', () => {
  it('is a permutation, deterministic under the stream', () => {
    const p = permutation(1000, streamRng(5));
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(permutation(1000, streamRng(5))).toEqual(p);
  });

  it('gives each order of 3 elements about equally often', () => {
    // 60000 draws: each of the 6 orders has p = 1/6, count sd = √(n p (1−p)) ≈ 91; allow 5 sd.
    const counts = new Map<string, number>();
    const rng = streamRng(9);
    for (let i = 0; i < 60000; i++) {
      const k = permutation(3, rng).join();
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 10000)).toBeLessThan(5 * 91.3);
  });
});
