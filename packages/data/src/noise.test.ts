import { examples } from './dataset';
import { CIFAR10_ASYMMETRIC_MAP, labelNoise, noiseFraction, noisyLabels } from './noise';
import { prepare } from './registry';
import { Dataset } from './dataset';
import { leftMessage, right } from './test-util';

const K = 10;
const n = 20000;
const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % K);

/**
 * Each label is corrupted independently with probability r, and for 'symmetric' and
 * 'pairflip' every corruption changes the label, so the number changed is Binomial(n, r):
 * the changed fraction has mean r and sd √(r(1−r)/n) (≤ 0.0035 at n = 20,000). We allow
 * 5 sd: a correct implementation fails with probability < 6e-7 per check, while an
 * off-by-K/(K−1) rate (drawing from all K classes) is 10% low, i.e. ≥ 8 sd away for r ≥ 0.2.
 */
const bound = (r: number) => 5 * Math.sqrt((r * (1 - r)) / n);

function changed(a: Int32Array, b: Int32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d / a.length;
}

describe('label noise', () => {
  it.each([0.2, 0.4, 0.8])('symmetric at rate %p changes a fraction r of labels, each to another class uniformly', (r) => {
    const y = right(noisyLabels(labels, K, { kind: 'symmetric', rate: r, seed: 1 }));
    expect(Math.abs(changed(labels, y) - r)).toBeLessThan(bound(r));
    // New labels among the changed ones: uniform over the K−1 other classes. Offsets
    // (new − old) mod K take values 1..9 with p = 1/9 each; count sd = √(m·(1/9)(8/9)).
    const off = new Array<number>(K).fill(0);
    let m = 0;
    for (let i = 0; i < n; i++) if (y[i] !== labels[i]) { off[(y[i]! - labels[i]! + K) % K]!++; m++; }
    expect(off[0]).toBe(0);
    const sd = Math.sqrt((m * (1 / 9) * (8 / 9)));
    for (let k = 1; k < K; k++) expect(Math.abs(off[k]! - m / 9)).toBeLessThan(5 * sd);
    expect(labels[0]).toBe(0); // input untouched
  });

  it('pairflip moves corrupted labels to the next class', () => {
    const r = 0.3;
    const y = right(noisyLabels(labels, K, { kind: 'pairflip', rate: r, seed: 2 }));
    expect(Math.abs(changed(labels, y) - r)).toBeLessThan(bound(r));
    for (let i = 0; i < n; i++) if (y[i] !== labels[i]) expect(y[i]).toBe((labels[i]! + 1) % K);
  });

  it("'asymmetric' is pairflip without a map and the map with one", () => {
    const o = { rate: 0.3, seed: 2 };
    expect(right(noisyLabels(labels, K, { kind: 'asymmetric', ...o }))).toEqual(right(noisyLabels(labels, K, { kind: 'pairflip', ...o })));
    const m = { ...o, map: CIFAR10_ASYMMETRIC_MAP };
    expect(right(noisyLabels(labels, K, { kind: 'asymmetric', ...m }))).toEqual(right(noisyLabels(labels, K, { kind: 'map', ...m })));
  });

  it('a class map changes only mapped classes, each to its target', () => {
    const r = 0.5;
    const y = right(noisyLabels(labels, K, { kind: 'map', rate: r, seed: 3, map: CIFAR10_ASYMMETRIC_MAP }));
    // 5 of 10 classes are mapped elsewhere (2, 3, 4, 5, 9), so the changed fraction is r/2 ± 5 sd.
    const sd = Math.sqrt((0.25 * 0.75) / n);
    expect(Math.abs(changed(labels, y) - r / 2)).toBeLessThan(5 * sd);
    for (let i = 0; i < n; i++) if (y[i] !== labels[i]) expect(y[i]).toBe(CIFAR10_ASYMMETRIC_MAP[labels[i]!]);
  });

  it('rate 0 changes nothing, rate 1 changes everything; same seed, same noise', () => {
    expect(changed(labels, right(noisyLabels(labels, K, { kind: 'symmetric', rate: 0 })))).toBe(0);
    expect(changed(labels, right(noisyLabels(labels, K, { kind: 'symmetric', rate: 1 })))).toBe(1);
    const a = right(noisyLabels(labels, K, { kind: 'symmetric', rate: 0.3, seed: 9 }));
    const b = right(noisyLabels(labels, K, { kind: 'symmetric', rate: 0.3, seed: 9 }));
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it("with validationLabels 'clean': touches training labels only, keeping the clean ones; validation and test unchanged", () => {
    const mk = (count: number, off: number) =>
      examples(new Float32Array(count), Int32Array.from({ length: count }, (_, i) => (i + off) % K));
    const ds: Dataset = { name: 'fixture', kind: 'features', train: mk(n, 0), test: mk(3000, 1), numClasses: K, inputShape: [1] };
    const r = 0.4;
    const out = right(prepare({ validation: { fraction: 0.25, seed: 1 }, noise: { kind: 'symmetric', rate: r, seed: 5 }, validationLabels: 'clean' })(ds));
    const ntr = out.train.count;
    expect(Math.abs(noiseFraction(out.train) - r)).toBeLessThan(5 * Math.sqrt((r * (1 - r)) / ntr));
    expect(noiseFraction(out.validation!)).toBe(0);
    expect(noiseFraction(out.test)).toBe(0);
    expect(out.test).toBe(ds.test);
    // cleanY is the original labels of the same examples.
    const v = right(prepare({ validation: { fraction: 0.25, seed: 1 } })(ds));
    expect(Array.from(out.train.cleanY)).toEqual(Array.from(v.train.y));
    expect(Array.from(out.validation!.y)).toEqual(Array.from(v.validation!.y));
  });

  it('by default the noise goes on the whole pool before the split: validation labels as noisy as training labels', () => {
    const mk = (count: number, off: number) =>
      examples(new Float32Array(count), Int32Array.from({ length: count }, (_, i) => (i + off) % K));
    const ds: Dataset = { name: 'fixture', kind: 'features', train: mk(n, 0), test: mk(3000, 1), numClasses: K, inputShape: [1] };
    const r = 0.4;
    const out = right(prepare({ validation: { fraction: 0.25, seed: 1 }, noise: { kind: 'symmetric', rate: r, seed: 5 } })(ds));
    for (const part of [out.train, out.validation!]) {
      expect(Math.abs(noiseFraction(part) - r)).toBeLessThan(5 * Math.sqrt((r * (1 - r)) / part.count));
    }
    expect(out.train.count + out.validation!.count).toBe(n);
    expect(out.test).toBe(ds.test);
    // Exactly the examples the whole-pool noise corrupted, split: noise then hold-out.
    const pool = right(labelNoise({ kind: 'symmetric', rate: r, seed: 5 })(ds));
    const split = right(prepare({ validation: { fraction: 0.25, seed: 1 } })(pool));
    expect(Array.from(out.validation!.y)).toEqual(Array.from(split.validation!.y));
    expect(Array.from(out.validation!.cleanY)).toEqual(Array.from(split.validation!.cleanY));
    expect(leftMessage(prepare({ validationLabels: 'x' as never })(ds))).toMatch(/validationLabels 'x', expected 'noisy' or 'clean'/);
  });

  it('refuses bad rates, kinds and maps', () => {
    expect(leftMessage(noisyLabels(labels, K, { kind: 'symmetric', rate: 1.5 }))).toMatch(/rate 1.5, expected a number in \[0, 1\]/);
    expect(leftMessage(noisyLabels(labels, K, { kind: 'map', rate: 0.1, map: [1, 2] }))).toMatch(/expected 10 class indices/);
    expect(leftMessage(labelNoise({ kind: 'x' as never, rate: 0.1 })({ numClasses: 2, train: examples(new Float32Array(1), new Int32Array(1)) } as Dataset))).toMatch(/kind 'x'/);
  });
});
