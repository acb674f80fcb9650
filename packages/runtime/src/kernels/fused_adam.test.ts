// The fused Adam kernel, registered by initRuntime for every backend that can run it (cpu,
// wasm and native where its addon is built), run through the kernel registry by name as
// @lets/optim's scaleByAdam runs it, against the float64 formula written out here.
import * as tf from '@tensorflow/tfjs-core';
import { availableBackends, initRuntime } from '../backend';
import { FUSED_ADAM, registerFusedAdamKernel, type FusedAdamAttrs } from './fused_adam';

const step = (g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: FusedAdamAttrs) =>
  tf.engine().runKernel(FUSED_ADAM, { g, m, v }, a as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];

/** Host values with a fixed, float32-exact pattern in [-1, 1). */
const pattern = (n: number, k: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.fround(((i * 37 + k * 11) % 101) / 50.5 - 1));

describe('fused Adam kernel', () => {
  const backends = ['cpu', 'wasm', 'native'] as const;
  const results: Record<string, number[][]> = {};

  it.each(backends)('initRuntime registers it on %s; one step matches the float64 formula', async (name) => {
    if (!(await availableBackends()).includes(name)) return; // native only where its addon is built
    await initRuntime({ backend: name });
    expect(tf.getBackend()).toBe(name);
    expect(tf.getKernel(FUSED_ADAM, name)).toBeDefined();
    // NAdam-shaped attributes (cg ≠ 0) so every term of the formula counts; 5000 elements: wasm heap growth
    const n = 5000;
    const [gh, mh, vh] = [pattern(n, 1), pattern(n, 2), pattern(n, 3).map((x) => x * x)];
    const a: FusedAdamAttrs = { b1: 0.9, b2: 0.99, cm: 0.7, cg: 0.2, er: 1e-3, ee: 1e-4 };
    const before = tf.memory().numTensors;
    const [g, m, v] = [tf.tensor(gh), tf.tensor(mh), tf.tensor(vh)];
    const out = step(g!, m!, v!, a);
    const [mo, vo, uo] = out.map((t) => Array.from(t.dataSync()));
    for (let i = 0; i < n; i += 97) {
      const mi = a.b1 * mh[i]! + (1 - a.b1) * gh[i]!;
      const vi = a.b2 * vh[i]! + (1 - a.b2) * gh[i]! * gh[i]!;
      // float64 computation, one float32 rounding per output
      expect(mo![i]).toBe(Math.fround(mi));
      expect(vo![i]).toBe(Math.fround(vi));
      expect(uo![i]).toBe(Math.fround((a.cm * mi + a.cg * gh[i]!) / (Math.sqrt(vi + a.er) + a.ee)));
    }
    results[name] = [mo!, vo!, uo!];
    tf.dispose([g!, m!, v!, ...out]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the same bits on every backend it ran on', () => {
    const ran = Object.keys(results);
    expect(ran).toContain('cpu');
    for (const name of ran) expect(results[name]).toEqual(results['cpu']);
  });

  it('registerFusedAdamKernel opts a backend in, idempotently, and names a bad storage kind', () => {
    registerFusedAdamKernel('my-cpu-like', 'cpu');
    const k = tf.getKernel(FUSED_ADAM, 'my-cpu-like');
    expect(k).toBeDefined();
    registerFusedAdamKernel('my-cpu-like', 'cpu');
    expect(tf.getKernel(FUSED_ADAM, 'my-cpu-like')).toBe(k);
    expect(() => registerFusedAdamKernel('x', 'gpu' as 'cpu')).toThrow(/registerFusedAdamKernel: like must be 'cpu' or 'wasm', got gpu/);
    tf.unregisterKernel(FUSED_ADAM, 'my-cpu-like');
  });
});
