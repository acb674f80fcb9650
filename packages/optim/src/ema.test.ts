import * as tf from '@tensorflow/tfjs-core';
import { dispose, disposeState } from '@lets/tree';
import { ema } from './ema';
import { scaleByRms } from './scaleByRms';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

const run = <S>(t: { init: (p: never) => S; update: (u: never, s: S) => readonly [Record<string, tf.Tensor>, S] }, gs: number[]): number[] => {
  const p = { w: tf.scalar(0) };
  let s = t.init(p as never);
  const out: number[] = [];
  for (const g of gs) {
    const x = { w: tf.scalar(g) };
    const [u, s2] = t.update(x as never, s);
    out.push(vals(u).w![0]!);
    [x, u].forEach(dispose);
    disposeState(s);
    s = s2;
  }
  disposeState(s);
  dispose(p);
  return out;
};

describe('ema', () => {
  // decay 0.5, gradients 4, 2: m = 2, then 0.5·2 + 0.5·2 = 2; debiased: 2/0.5 = 4, 2/0.75 = 8/3
  it('with and without debiasing', () => {
    expect(run(ema(0.5, { debias: false }), [4, 2])).toEqual([2, 2]);
    const d = run(ema(0.5), [4, 2]);
    expect(d[0]).toBe(4);
    expect(d[1]).toBeCloseTo(8 / 3, 6); // float32: 6 digits
    expect(() => ema(1)).toThrow(/ema: decay must be a number in \[0, 1\), got 1/);
  });
});

describe('scaleByRms', () => {
  it('g / (√v + eps) with v ← decay·v + (1 − decay)·g²', () => {
    // decay 0.75, eps 0: v = 0.25·16 = 4 → 4/2 = 2; v = 0.75·4 + 0.25·4 = 4 → 2/2 = 1
    expect(run(scaleByRms({ decay: 0.75, eps: 0 }), [4, 2])).toEqual([2, 1]);
    // initialScale 1, decay 0.5, eps 1: v = 0.5 + 0.5·9 = 5 → 3/(√5 + 1)
    expect(run(scaleByRms({ decay: 0.5, eps: 1, initialScale: 1 }), [3])[0]).toBeCloseTo(3 / (Math.sqrt(5) + 1), 6);
  });
});
