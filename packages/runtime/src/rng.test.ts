import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from './backend';
import { Rng } from './rng';

// Reference xoshiro128** written independently with BigInt arithmetic (mod 2^32 masks),
// following the reference C code (xoshiro128starstar.c).
function referenceXoshiro(s: bigint[], n: number): number[] {
  const M = 0xffffffffn;
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  const st = [...s];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Number((rotl((st[1]! * 5n) & M, 7n) * 9n) & M));
    const t = (st[1]! << 9n) & M;
    st[2] = st[2]! ^ st[0]!;
    st[3] = st[3]! ^ st[1]!;
    st[1] = st[1]! ^ st[2]!;
    st[0] = st[0]! ^ st[3]!;
    st[2] = st[2]! ^ t;
    st[3] = rotl(st[3]!, 11n);
  }
  return out;
}

describe('Rng', () => {
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' });
  });

  it('is xoshiro128** (matches an independent BigInt implementation)', () => {
    const state = { algorithm: 'xoshiro128**' as const, s: [1, 2, 3, 4] as const };
    const r = Rng.fromState({ ...state, s: [1, 2, 3, 4] });
    const got = Array.from({ length: 50 }, () => r.nextUint32());
    expect(got).toEqual(referenceXoshiro([1n, 2n, 3n, 4n], 50));
    // the first output of state (1,2,3,4) by hand: rotl(2·5, 7)·9 = 1280·9 = 11520
    expect(got[0]).toBe(11520);
  });

  it('same seed, same stream; different seeds, different streams', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 10 }, () => a.nextUint32());
    expect(Array.from({ length: 10 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 10 }, () => c.nextUint32())).not.toEqual(xs);
  });

  it('state round-trips through JSON and resumes the stream exactly', () => {
    const a = new Rng(7);
    a.normal([5]).dispose();
    const saved = JSON.parse(JSON.stringify(a.getState()));
    const b = Rng.fromState(saved);
    expect(Array.from(a.uniform([6]).dataSync())).toEqual(Array.from(b.uniform([6]).dataSync()));
    expect(() => Rng.fromState({ algorithm: 'xoshiro128**', s: [0, 0, 0, 0] })).toThrow(/not all 0/);
    expect(() => Rng.fromState({ algorithm: 'mt' } as never)).toThrow(/expected \{algorithm/);
  });

  it('gives the same tensors on cpu and wasm', async () => {
    const draw = () => {
      const r = new Rng(3);
      return [r.normal([4, 3]), r.uniform([5], -1, 1), r.randint([6], 10), r.bernoulli([8], 0.3)].map((t) => Array.from(t.dataSync()));
    };
    const cpu = draw();
    await initRuntime({ backend: 'wasm' });
    const wasm = draw();
    await initRuntime({ backend: 'cpu' });
    expect(wasm).toEqual(cpu);
  });

  it('moments of normal and uniform draws match their distributions', () => {
    const r = new Rng(11);
    const n = 20000;
    const z = Array.from(r.normal([n], 1, 2).dataSync());
    const mean = z.reduce((s, v) => s + v, 0) / n;
    const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    // standard errors: mean 2/√n = 0.014, variance ≈ 4·√(2/n) = 0.04; allow 4 s.e.
    expect(Math.abs(mean - 1)).toBeLessThan(0.06);
    expect(Math.abs(variance - 4)).toBeLessThan(0.16);
    const u = Array.from(r.uniform([n]).dataSync());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(Math.abs(u.reduce((s, v) => s + v, 0) / n - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / n));
    const m = Array.from(r.bernoulli([n], 0.25).dataSync());
    expect(Math.abs(m.reduce((s, v) => s + v, 0) / n - 0.25)).toBeLessThan(4 * Math.sqrt(0.25 * 0.75 / n));
  });

  it('permutation is a permutation, and uniform over the 6 orders of 3 items', () => {
    const r = new Rng(5);
    const p = r.permutation(100);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const counts = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const k = Array.from(r.permutation(3)).join('');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    // each order: 1000 expected, s.e. √(6000·(1/6)(5/6)) ≈ 29; allow 5 s.e.
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(145);
  });

  it('nextInt has no modulo bias and rejects bad bounds', () => {
    const r = new Rng(9);
    for (let i = 0; i < 1000; i++) {
      const v = r.nextInt(3);
      expect(v === 0 || v === 1 || v === 2).toBe(true);
    }
    expect(() => r.nextInt(0)).toThrow(/n must be an integer/);
    expect(() => r.normal([2, -1])).toThrow(/shape must be non-negative integers/);
    expect(() => new Rng(1.5)).toThrow(/seed must be a safe integer/);
  });

  it('fork gives an independent, reproducible sub-stream', () => {
    const a = new Rng(1).fork();
    const b = new Rng(1).fork();
    expect(a.nextUint32()).toBe(b.nextUint32());
    const parent = new Rng(1);
    const child = parent.fork();
    expect(child.nextUint32()).not.toBe(parent.nextUint32());
    tf.disposeVariables();
  });
});
