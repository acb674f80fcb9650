import { examples } from './dataset';
import { subsetPerClass } from './subset';
import { leftMessage, right } from './test-util';

describe('subsetPerClass', () => {
  const n = 300;
  const ex = examples(Float32Array.from({ length: n }, (_, i) => i), Int32Array.from({ length: n }, (_, i) => (i % 7) % 3));

  it('keeps exactly k examples of each class, with their features, deterministically', () => {
    const s = right(subsetPerClass(ex, 3, { perClass: 5, seed: 1 }));
    expect(s.count).toBe(15);
    const c = [0, 0, 0];
    s.y.forEach((l, i) => {
      c[l]!++;
      expect(l).toBe((s.x[i]! % 7) % 3);
    });
    expect(c).toEqual([5, 5, 5]);
    expect(new Set(s.x).size).toBe(15);
    expect(Array.from(right(subsetPerClass(ex, 3, { perClass: 5, seed: 1 })).x)).toEqual(Array.from(s.x));
    expect(Array.from(right(subsetPerClass(ex, 3, { perClass: 5, seed: 2 })).x)).not.toEqual(Array.from(s.x));
  });

  it('refuses a class with too few examples', () => {
    expect(leftMessage(subsetPerClass(ex, 4, { perClass: 1 }))).toMatch(/class 3 has 0 examples, expected at least 1/);
  });
});
