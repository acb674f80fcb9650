import { examples } from './dataset';
import { holdOut, splitExamples } from './split';
import { gaussianBlobs } from './synthetic';
import { leftMessage, right } from './test-util';

// Examples whose single feature is their own index, so membership is visible.
const indexed = (n: number, k: number) =>
  examples(Float32Array.from({ length: n }, (_, i) => i), Int32Array.from({ length: n }, (_, i) => i % k));

describe('holdOut', () => {
  it('partitions train into validation and train by a seeded fraction', () => {
    const ex = indexed(1000, 4);
    const [val, tr] = right(splitExamples(ex, { fraction: 0.1, seed: 3 }));
    expect(val.count).toBe(100);
    expect(tr.count).toBe(900);
    const all = [...val.x, ...tr.x].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    val.x.forEach((f, i) => expect(val.y[i]).toBe(f % 4)); // labels travel with their examples
    const [val2] = right(splitExamples(ex, { fraction: 0.1, seed: 3 }));
    expect(Array.from(val2.x)).toEqual(Array.from(val.x));
    const [val3] = right(splitExamples(ex, { fraction: 0.1, seed: 4 }));
    expect(Array.from(val3.x)).not.toEqual(Array.from(val.x));
  });

  it('stratified hold-out keeps class proportions exactly', () => {
    const y = Int32Array.from({ length: 1000 }, (_, i) => (i < 700 ? 0 : i < 900 ? 1 : 2));
    const [val] = right(splitExamples(examples(new Float32Array(1000), y), { fraction: 0.1, stratified: true }));
    const c = [0, 0, 0];
    val.y.forEach((l) => c[l]!++);
    expect(c).toEqual([70, 20, 10]);
  });

  it('adds validation to a dataset and leaves test alone', () => {
    const ds = gaussianBlobs({ trainPerClass: 50, seed: 1 });
    const d2 = right(holdOut({ fraction: 0.2, seed: 0 })(ds));
    expect(d2.validation!.count).toBe(30);
    expect(d2.train.count).toBe(120);
    expect(d2.test).toBe(ds.test);
    expect(leftMessage(holdOut({ fraction: 0.2 })(d2))).toMatch(/already has a validation split/);
  });

  it('refuses fractions outside (0, 1)', () => {
    expect(leftMessage(splitExamples(indexed(10, 2), { fraction: 1 }))).toMatch(/fraction 1, expected a number in \(0, 1\)/);
    expect(leftMessage(splitExamples(indexed(10, 2), { fraction: 0.01 }))).toMatch(/empty part/);
  });
});
