import * as tf from '@tensorflow/tfjs-core';
import { dispose } from '@lets/tree';
import { scale, scaleByLearningRate, scaleBySchedule } from './scale';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

describe('scale, scaleBySchedule, scaleByLearningRate', () => {
  const u = () => ({ a: tf.tensor1d([1, -2]), b: tf.tensor1d([4]) });

  it('scale multiplies every leaf', () => {
    const x = u();
    const [out] = scale(-0.5).update(x, {});
    expect(vals(out)).toEqual({ a: [-0.5, 1], b: [-2] });
    dispose(out);
    dispose(x);
    expect(() => scale(Infinity)).toThrow(/scale: step must be a finite number, got Infinity/);
  });

  it('scaleBySchedule uses schedule(count) with count 0, 1, 2', () => {
    const x = u();
    const t = scaleBySchedule((c) => c + 1);
    let s = t.init(x);
    for (let c = 0; c < 3; c++) {
      const [out, s2] = t.update(x, s);
      expect(vals(out)).toEqual({ a: [c + 1, -2 * (c + 1)], b: [4 * (c + 1)] });
      expect(s2.count).toBe(c + 1);
      s = s2;
      dispose(out);
    }
    expect(() => t.update(x, { count: 0 }).length).not.toThrow();
    expect(() => scaleBySchedule(() => NaN).update(x, { count: 4 })).toThrow(/schedule\(4\) = NaN/);
    dispose(x);
  });

  it('scaleByLearningRate returns −lr·u (number or schedule), +lr·u with flipSign false', () => {
    const x = u();
    const [a] = scaleByLearningRate(0.5).update(x, { count: 0 });
    expect(vals(a)).toEqual({ a: [-0.5, 1], b: [-2] });
    const [b, sb] = scaleByLearningRate((c) => 2 ** -c).update(x, { count: 2 });
    expect(vals(b)).toEqual({ a: [-0.25, 0.5], b: [-1] });
    expect(sb).toEqual({ count: 3 });
    const [c] = scaleByLearningRate(0.5, { flipSign: false }).update(x, { count: 0 });
    expect(vals(c)).toEqual({ a: [0.5, -1], b: [2] });
    [a, b, c, x].forEach(dispose);
    expect(() => scaleByLearningRate('0.1' as never)).toThrow(/learningRate must be a finite number or a schedule, got 0.1/);
  });
});
