import { permutation, Rng, rngFromSeed } from './prng';

describe('xoshiro128**', () => {
  it('matches the reference C implementation from state [1, 2, 3, 4]', () => {
    // Outputs of https://prng.di.unimi.it/xoshiro128starstar.c compiled with gcc, s = {1,2,3,4}.
    const rng = new Rng([1, 2, 3, 4]);
    expect(Array.from({ length: 6 }, () => rng.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('is reproducible from a seed, and streams differ', () => {
    const a = Rng.fromSeed(42, 1);
    const b = Rng.fromSeed(42, 1);
    const c = Rng.fromSeed(42, 2);
    const xa = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(xa);
    expect(rngFromSeed(1)).not.toEqual(rngFromSeed(2));
  });

  it('state is plain numbers and resumes the sequence', () => {
    const a = Rng.fromSeed(7);
    a.nextUint32();
    const s = a.state;
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    const next = a.nextUint32();
    expect(new Rng(s).nextUint32()).toBe(next);
  });

  it('uniform and normal have the right first two moments', () => {
    // n = 1e5: the sample mean of U(0,1) has sd sqrt(1/12/n) ≈ 9.1e-4; allow 5 sd.
    const n = 100000;
    const r = Rng.fromSeed(3);
    let s = 0;
    let sn = 0;
    let sn2 = 0;
    for (let i = 0; i < n; i++) {
      s += r.uniform();
      const z = r.normal();
      sn += z;
      sn2 += z * z;
    }
    expect(Math.abs(s / n - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    // N(0,1): sd of the mean 1/sqrt(n) ≈ 3.2e-3; sd of the mean square sqrt(2/n) ≈ 4.5e-3.
    expect(Math.abs(sn / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(sn2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });
});

describe('permutation', () => {
  it('is a permutation, deterministic under the state', () => {
    const [p, s] = permutation(1000, rngFromSeed(5));
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(permutation(1000, rngFromSeed(5))[0]).toEqual(p);
    expect(s).not.toEqual(rngFromSeed(5));
  });

  it('puts each element in each position about equally often', () => {
    // 3 elements, 60000 draws: each of the 6 orders has p = 1/6, count sd = sqrt(n p (1-p)) ≈ 91; allow 5 sd.
    const counts = new Map<string, number>();
    let state = rngFromSeed(9);
    for (let i = 0; i < 60000; i++) {
      const [p, s] = permutation(3, state);
      state = s;
      const k = p.join();
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 10000)).toBeLessThan(5 * 91.3);
  });
});
