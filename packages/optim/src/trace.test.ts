import * as tf from '@tensorflow/tfjs-core';
import { dispose, disposeState } from '@lets/tree';
import { trace } from './trace';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

describe('trace (PyTorch momentum)', () => {
  // Hand computation with μ = 0.5 and gradients 4, 2, 8:
  //   buf: 4, 0.5·4 + 2 = 4, 0.5·4 + 8 = 10            (heavy ball: updates = buf)
  //   nesterov: g + μ·buf = 4 + 2 = 6, 2 + 2 = 4, 8 + 5 = 13
  const gs = [4, 2, 8];
  it.each([
    [false, [4, 4, 10]],
    [true, [6, 4, 13]],
  ])('nesterov %s', (nesterov, want) => {
    const t = trace({ decay: 0.5, nesterov });
    const p = { w: tf.tensor1d([0, 0]) };
    let s = t.init(p);
    const before = tf.memory().numTensors;
    gs.forEach((g, i) => {
      const x = { w: tf.tensor1d([g, -g]) };
      const [u, s2] = t.update(x, s);
      expect(vals(u)).toEqual({ w: [want[i], -(want[i] as number)] });
      dispose(x);
      dispose(u);
      disposeState(s);
      s = s2;
    });
    expect(tf.memory().numTensors).toBe(before);
    disposeState(s);
    dispose(p);
  });

  it('is fround(μ·buf + g) bit for bit, in any order of the state\'s buffers', () => {
    // float32 arithmetic written out: the product rounded, then the sum rounded. Values over many
    // magnitudes, both signs and zeros, so a different rounding (a fused multiply-add) would show.
    const n = 4000;
    const gen = (k: number) => Float32Array.from({ length: n }, (_, i) => (i % 17 === 0 ? 0 : Math.sin(i * k + 1) * 2 ** ((i * k) % 41 - 20)));
    const [g1, g2, mu] = [gen(3), gen(7), 0.9];
    const t = trace({ decay: mu, nesterov: true });
    const p = { a: tf.zeros([n]), b: tf.zeros([2]) };
    const s0 = t.init(p);
    const reordered = { trace: { b: s0.trace.b!, a: s0.trace.a! } };
    const x1 = { a: tf.tensor(g1), b: tf.tensor([1, 2]) }, x2 = { a: tf.tensor(g2), b: tf.tensor([3, 4]) };
    const [u1, s1] = t.update(x1, reordered);
    const [u2, s2] = t.update(x2, s1);
    const m = Math.fround(mu);
    const buf1 = Float32Array.from(g1, (g) => Math.fround(Math.fround(m * 0) + g));
    const buf2 = Float32Array.from(g2, (g, i) => Math.fround(Math.fround(m * buf1[i]!) + g));
    const nes2 = Float32Array.from(g2, (g, i) => Math.fround(g + Math.fround(m * buf2[i]!)));
    const bits = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array).slice().buffer);
    expect(bits(s1.trace.a!).equals(Buffer.from(buf1.buffer))).toBe(true);
    expect(bits(s2.trace.a!).equals(Buffer.from(buf2.buffer))).toBe(true);
    expect(bits(u2.a!).equals(Buffer.from(nes2.buffer))).toBe(true);
    expect(Object.keys(s1.trace)).toEqual(['a', 'b']);
    [p, x1, x2, u1, u2].forEach(dispose);
    [s0, s1, s2].forEach(disposeState);
  });

  it('names a leaf that has no buffer', () => {
    const t = trace({ decay: 0.9 });
    const x = { w: tf.scalar(1) };
    expect(() => t.update(x, { trace: {} })).toThrow(/trace: state has no buffer for 'w'/);
    dispose(x);
  });
});
