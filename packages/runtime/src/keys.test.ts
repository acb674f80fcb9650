import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from './backend';
import { Rng } from './rng';
import { bernoulli, fold, hashString, isKey, key, normal, normals, permutation, randint, rng, split, truncatedNormal, uniform, uniforms } from './keys';

/** Pearson correlation of x[i] and y[i]. */
const corr = (x: ArrayLike<number>, y: ArrayLike<number>): number => {
  const n = x.length;
  let sx = 0, sy = 0, sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i]!, b = y[i]!;
    sx += a; sy += b; sxy += a * b; sxx += a * a; syy += b * b;
  }
  return (sxy - (sx * sy) / n) / Math.sqrt((sxx - (sx * sx) / n) * (syy - (sy * sy) / n));
};

describe('keys', () => {
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' });
  });

  it("reproduces @lets/data's stream naming bit for bit (streamSeed values recorded at 5d004b7)", () => {
    // streamSeed(seed, ...ids) of packages/data/src/prng.ts before keys replaced it.
    expect(fold(key(0))).toBe(7452850487681598);
    expect(fold(key(42), 1)).toBe(6061782028138434);
    expect(fold(key(2 ** 40), 3)).toBe(4620478488077732);
    expect(fold(key(-5), 3)).toBe(7943720445510864);
    expect(fold(key(7), 0x626174, 2, 9)).toBe(4665835770669485);
    // streamRng(42, 1)'s first four outputs.
    const r = rng(fold(key(42), 1));
    expect(Array.from({ length: 4 }, () => r.nextUint32())).toEqual([3094524947, 1564008522, 1511424468, 1712162002]);
    // and rng(k) is the runtime's generator seeded with k
    const a = rng(fold(key(42), 1));
    const b = new Rng(fold(key(42), 1));
    expect(Array.from({ length: 5 }, () => a.nextUint32())).toEqual(Array.from({ length: 5 }, () => b.nextUint32()));
  });

  it("reproduces @lets/models' per-path seeds bit for bit (deriveSeed values recorded at 5d004b7)", () => {
    // deriveSeed(seed, label) of packages/models/src/prng.ts before keys replaced it.
    expect(fold(key(9), 'stem/conv/kernel')).toBe(1169517464);
    expect(fold(key(0), 'dropout/0')).toBe(1501475297);
    expect(fold(key(3), 'conv1/kernel')).toBe(2638365781);
    // a seed beyond 2^32 keeps its high half (deriveSeed dropped it)
    expect(fold(key(2 ** 32 + 9), 'stem/conv/kernel')).not.toBe(fold(key(9), 'stem/conv/kernel'));
  });

  it('keys are safe integers; seeds, ids and labels separate; keys are plain data', () => {
    const ks = [
      key(0), key(1), key(-1), key(2 ** 40), fold(key(0), 1), fold(key(0), 2), fold(key(0), 1, 0), fold(key(0), 0, 1),
      fold(key(0), 'conv1/kernel'), fold(key(0), 'conv2/kernel'), fold(key(1), 'conv1/kernel'), fold(key(0), 'dropout/0'),
      fold(key(0), 'dropout/1'), fold(key(0), '1'), fold(key(0), hashString('1')),
    ];
    ks.forEach((k) => expect(isKey(k)).toBe(true));
    expect(new Set(ks).size).toBe(ks.length);
    expect(fold(key(7), 3, 'x', 9)).toBe(fold(key(7), 3, 'x', 9));
    expect(fold(key(7), 3, 'x', 9)).not.toBe(fold(key(7), 3, 'y', 9));
    expect(fold(key(1), 'x')).toBe(fold(key(1), 'x'));
    // a path of one label gives a uint32, any other path a non-negative safe integer
    expect(ks.slice(8, 13).every((k) => k >= 0 && k < 2 ** 32)).toBe(true);
    expect(ks.slice(4).every((k) => k >= 0)).toBe(true);
    // a path is mixed in one pass: (a, b) is another key than b under (a), both distinct from k
    expect(new Set([fold(key(7), 3, 9), fold(fold(key(7), 3), 9), key(7)]).size).toBe(3);
    // keys are plain data: a JSON round trip is the same key
    expect(JSON.parse(JSON.stringify({ k: ks[5] })).k).toBe(ks[5]);
  });

  it('hashString is FNV-1a (32-bit test vectors)', () => {
    expect(hashString('')).toBe(0x811c9dc5);
    expect(hashString('a')).toBe(0xe40c292c);
    expect(hashString('foobar')).toBe(0xbf9cf968);
  });

  it('split gives n distinct keys, deterministic, apart from the fold sub-streams', () => {
    const k = key(3);
    const s = split(k, 8);
    expect(s).toHaveLength(8);
    expect(split(k, 8)).toEqual(s);
    expect(split(k)).toEqual(s.slice(0, 2)); // default n = 2, and a prefix of any longer split
    expect(split(k, 0)).toEqual([]);
    const folds = Array.from({ length: 8 }, (_, i) => fold(k, i));
    expect(new Set([k, ...s, ...folds]).size).toBe(17);
    // threading a key through steps, as a stateful stage does: [sub, next] = split(state)
    let state = k;
    const subs: number[] = [];
    for (let t = 0; t < 100; t++) {
      const [sub, next] = split(state);
      subs.push(sub!);
      state = next!;
    }
    expect(new Set(subs).size).toBe(100);
  });

  it('neighbouring ids and successive split keys give uncorrelated uniforms', () => {
    // Pearson correlation of the first draw across n streams: sd ≈ 1/√n = 0.01; allow 5 sd.
    const n = 10000;
    const byId = Array.from({ length: n + 1 }, (_, i) => uniforms(fold(key(1), i), 1)[0]!);
    expect(Math.abs(corr(byId.slice(0, n), byId.slice(1)))).toBeLessThan(0.05);
    expect(Math.abs(byId.reduce((a, b) => a + b, 0) / (n + 1) - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    const bySplit = split(key(1), n + 1).map((k) => uniforms(k, 1)[0]!);
    expect(Math.abs(corr(bySplit.slice(0, n), bySplit.slice(1)))).toBeLessThan(0.05);
    // split keys vs the fold sub-streams of the same key
    expect(Math.abs(corr(bySplit, Array.from({ length: n + 1 }, (_, i) => uniforms(fold(key(1), i), 1)[0]!)))).toBeLessThan(0.05);
  });

  it('uniforms are in [0, 1) with mean 1/2; normals have mean 0 and variance 1', () => {
    // n = 1e5: sd of the mean of uniforms √(1/12n) ≈ 9e-4; of normals 1/√n ≈ 3.2e-3, of the mean square √(2/n) ≈ 4.5e-3; 5 sd.
    const n = 100000;
    const u = uniforms(key(5), n);
    expect(u).toBeInstanceOf(Float32Array);
    expect(u.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Math.abs(u.reduce((a, b) => a + b, 0) / n - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(uniforms(key(5), n)).toEqual(u);
    const z = normals(key(9), n);
    let s = 0, s2 = 0;
    for (const x of z) {
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(s2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    // they are the key's generator read in order
    const r = rng(key(5));
    expect(Array.from(u.subarray(0, 4))).toEqual([r.nextFloat(), r.nextFloat(), r.nextFloat(), r.nextFloat()]);
    expect(normals(key(9), 3)).toEqual(rng(key(9)).fillNormal(new Float32Array(3)));
  });

  it('Rng.nextNormal is the first normal of a Box–Muller pair', () => {
    const a = rng(key(11));
    const b = rng(key(11));
    const pair = new Float32Array(2);
    for (let i = 0; i < 20; i++) expect(a.nextNormal()).toBe(b.fillNormal(pair)[0]);
  });

  it('tensor draws: shape, dtype, the key decides the values, no leaked tensors', () => {
    const before = tf.memory().numTensors;
    const k = key(21);
    const t = [uniform(k, [2, 3], -1, 1), normal(k, [4], 2, 0.5), truncatedNormal(k, [50]), bernoulli(k, [6], 0.5), randint(k, [5], 3)];
    expect(t.map((x) => x.shape)).toEqual([[2, 3], [4], [50], [6], [5]]);
    expect(t.map((x) => x.dtype)).toEqual(['float32', 'float32', 'float32', 'float32', 'int32']);
    const ref = rng(k).uniform([2, 3], -1, 1);
    const again = normal(k, [4], 2, 0.5);
    const other = normal(fold(k, 1), [4], 2, 0.5);
    expect(Array.from(t[0]!.dataSync())).toEqual(Array.from(ref.dataSync()));
    expect(Array.from(t[1]!.dataSync())).toEqual(Array.from(again.dataSync()));
    expect(Array.from(t[1]!.dataSync())).not.toEqual(Array.from(other.dataSync()));
    expect(t[0]!.dataSync().every((x) => x >= -1 && x < 1)).toBe(true);
    expect(t[2]!.dataSync().every((x) => Math.abs(x) <= 2)).toBe(true);
    expect(t[4]!.dataSync().every((x) => x >= 0 && x < 3 && Number.isInteger(x))).toBe(true);
    tf.dispose([...t, ref, again, other]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('permutation is a permutation, fixed by the key, each order of 3 about equally often', () => {
    const p = permutation(key(5), 1000);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(permutation(key(5), 1000)).toEqual(p);
    // 60000 keys: each of the 6 orders has p = 1/6, count sd = √(n p (1−p)) ≈ 91; allow 5 sd.
    const counts = new Map<string, number>();
    for (const k of split(key(9), 60000)) {
      const s = permutation(k, 3).join();
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 10000)).toBeLessThan(5 * 91.3);
  });

  it('bad input names the argument and what was expected', () => {
    expect(() => key(0.5)).toThrow(/key: seed must be a safe integer, got 0.5/);
    expect(() => key(2 ** 60)).toThrow(/key: seed must be a safe integer/);
    expect(() => fold(0.5, 1)).toThrow(/fold: key must be a safe integer \(from key\(seed\)\), got 0.5/);
    expect(() => fold(key(0), 1.5)).toThrow(/fold: path entries must be safe integers or strings, got 1.5/);
    expect(() => split(key(0), -1)).toThrow(/split: n must be a non-negative integer, got -1/);
    expect(() => split(2 ** 53)).toThrow(/split: key must be a safe integer/);
    expect(() => uniforms(key(0), 1.5)).toThrow(/uniforms: n must be a non-negative integer/);
    expect(() => rng(NaN)).toThrow(/rng: key must be a safe integer/);
  });
});
