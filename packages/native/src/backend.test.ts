import * as tf from '@tensorflow/tfjs-core';
import { isNativeAvailable, nativeInfo, registerNativeBackend, setNativeThreads } from './backend';
import { nativeKernelSpecs } from './kernels';
import { setupNative } from './test-util';

describe('registerNativeBackend', () => {
  let skip: string | undefined;
  beforeAll(() => {
    skip = setupNative();
  });

  test('registers every cpu kernel for native, the heavy ones replaced', () => {
    if (skip) return;
    const cpu = tf.getKernelsForBackend('cpu').map((k) => k.kernelName).sort();
    const native = tf.getKernelsForBackend('native').map((k) => k.kernelName).filter((n) => !n.startsWith('Lets')).sort();
    expect(native).toEqual(cpu);
    for (const spec of nativeKernelSpecs) {
      expect(tf.getKernel(spec.kernelName, 'native')!.kernelFunc).not.toBe(tf.getKernel(spec.kernelName, 'cpu')!.kernelFunc);
    }
  });

  test('is idempotent and reports its threads and BLAS', () => {
    if (skip) return;
    expect(registerNativeBackend()).toBe(true);
    expect(isNativeAvailable()).toBe(true);
    setNativeThreads(1);
    const info = nativeInfo();
    expect(info.available).toBe(true);
    expect(info.threads).toBe(1);
    expect(info.blas).toMatch(/\S/);
    expect(info.nativeKernels).toContain('Conv2DBackpropFilter');
    setNativeThreads(2);
  });

  test('rejects a bad thread count', () => {
    if (skip) return;
    expect(() => setNativeThreads(0)).toThrow(/threads must be an integer in 1\.\.1024, got 0/);
  });
});
