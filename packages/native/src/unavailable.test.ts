// Where the addon is not built, registration reports false and says why; nothing is registered.
process.env.LETS_NATIVE_ADDON = '/nonexistent/lets_native.node';

import * as tf from '@tensorflow/tfjs-core';
import { isNativeAvailable, nativeInfo, registerNativeBackend, setNativeThreads } from './backend';

test('a missing addon gives false and a reason naming the file and the build command', () => {
  expect(registerNativeBackend()).toBe(false);
  expect(isNativeAvailable()).toBe(false);
  const info = nativeInfo();
  expect(info.available).toBe(false);
  expect(info.reason).toMatch(/\/nonexistent\/lets_native\.node missing/);
  expect(info.reason).toMatch(/install g\+\+, then run `npx lets-native build`/);
  expect(tf.findBackendFactory('native')).toBeNull();
  expect(() => setNativeThreads(2)).toThrow(/addon not built/);
});
