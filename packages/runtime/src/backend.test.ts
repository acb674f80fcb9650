import * as tf from '@tensorflow/tfjs-core';
import { availableBackends, BackendUnavailableError, describeRuntime, initRuntime } from './backend';

describe('initRuntime', () => {
  afterEach(() => {
    delete process.env['LETS_BACKEND'];
  });

  it('registers gradients so tf.grads works on the cpu backend', async () => {
    await initRuntime({ backend: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
    // d/dx (x^2 / 2) = x; RealDiv's gradient is the one the stock Node entry lacks.
    const g = tf.grad((x: tf.Tensor) => tf.div(tf.square(x), 2))(tf.tensor1d([3, -1]));
    expect(Array.from(g.dataSync())).toEqual([3, -1]);
  });

  it("'auto' starts the first backend that is available here, wasm at the latest", async () => {
    const available = await availableBackends();
    expect(available).toContain('wasm');
    expect(available).toContain('cpu');
    const info = await initRuntime({ backend: 'auto' });
    expect(info.backend).toBe(available[0]);
  });

  it("'auto' prefers the native backend over wasm exactly when its addon is built", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const native = require('@lets/native') as typeof import('@lets/native');
    const available = await availableBackends();
    expect(available.includes('native')).toBe(native.isNativeAvailable());
    if (available.includes('native')) {
      expect(available.indexOf('native')).toBeLessThan(available.indexOf('wasm'));
      const info = await initRuntime({ backend: 'native' });
      expect(info.backend).toBe('native');
      expect(info.threads).toBeGreaterThanOrEqual(1);
      // a gradient through a conv on native equals the same on cpu
      const run = () => {
        const x = tf.tensor4d(Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 5, 3]);
        const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)), [3, 3, 3, 4]);
        const g = tf.grad((k: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, k as tf.Tensor4D, 1, 'same'))))(w);
        const out = Array.from(g.dataSync());
        tf.dispose([x, w, g]);
        return out;
      };
      const onNative = run();
      await initRuntime({ backend: 'cpu' });
      const onCpu = run();
      onNative.forEach((v, i) => expect(v).toBeCloseTo(onCpu[i] as number, 2));
    }
  });

  it('LETS_BACKEND overrides the automatic choice, and names a bad value', async () => {
    process.env['LETS_BACKEND'] = 'cpu';
    expect((await initRuntime()).backend).toBe('cpu');
    process.env['LETS_BACKEND'] = 'gpu';
    await expect(initRuntime()).rejects.toThrow(/unknown backend 'gpu' \(from LETS_BACKEND\); expected one of auto, tensorflow, webgpu, native, wasm, cpu/);
  });

  it("a browser's backend asked for in Node is refused, naming Node's backends", async () => {
    await expect(initRuntime({ backend: 'webgl' })).rejects.toThrow(
      "@lets/runtime: backend 'webgl' is not available: it does not run in Node. Here the backends are tensorflow, webgpu, native, wasm, cpu (or 'auto'); docs/browser.md says what runs where",
    );
    await expect(initRuntime({ backend: 'webgl' })).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('asking for a backend that is not installed names the package and how to install it', async () => {
    let err: unknown;
    try {
      await initRuntime({ backend: 'tensorflow' });
    } catch (e) {
      err = e;
    }
    if (err === undefined) return; // tfjs-node is installed here: nothing to check
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(String((err as Error).message)).toMatch(/backend 'tensorflow' is not available: .*@tensorflow\/tfjs-node.*Install @tensorflow\/tfjs-node@4\.22\.0/);
    await initRuntime({ backend: 'cpu' });
  });

  it('describeRuntime() reports backend, tfjs version, SIMD/threads on wasm, and memory in use', async () => {
    const info = await initRuntime({ backend: 'wasm' });
    expect(info.backend).toBe('wasm');
    expect(info.tfjsVersion).toBe('4.22.0');
    expect(typeof info.simd).toBe('boolean');
    expect(info.threads).toBe(1); // tfjs disables wasm threads in Node (tfjs#3830)
    const before = describeRuntime().memory.numTensors;
    const t = tf.zeros([10]);
    expect(describeRuntime().memory.numTensors).toBe(before + 1);
    expect(describeRuntime().memory.numBytes).toBeGreaterThanOrEqual(40);
    t.dispose();
    await initRuntime({ backend: 'cpu' });
  });
});
