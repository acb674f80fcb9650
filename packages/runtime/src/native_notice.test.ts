// What the runtime says about the native backend where @lets/native is not installed, and where
// it is installed but its addon is not built: commands that work in the user's project.
import * as tf from '@tensorflow/tfjs-core';

type Backend = typeof import('./backend');

function withNative(factory: () => unknown): Backend {
  let backend: Backend | undefined;
  jest.isolateModules(() => {
    jest.doMock('@tensorflow/tfjs-core', () => tf); // one tfjs engine, not a second copy
    jest.doMock('@lets/native', factory);
    backend = require('./backend') as Backend;
  });
  return backend!;
}

afterEach(() => {
  jest.dontMock('@lets/native');
  jest.dontMock('@tensorflow/tfjs-core');
  jest.restoreAllMocks();
});

describe('@lets/native not installed', () => {
  const notInstalled = () => {
    throw Object.assign(new Error("Cannot find module '@lets/native' from 'packages/runtime/src/backend.ts'"), { code: 'MODULE_NOT_FOUND' });
  };

  it("asking for 'native' says to install the package and build the addon with npx lets-native build", async () => {
    const { initRuntime, BackendUnavailableError } = withNative(notInstalled);
    const err = await initRuntime({ backend: 'native' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^@lets\/runtime: backend 'native' is not available: @lets\/native is not installed\. /);
    expect(msg).toContain('`npm install @lets/native`');
    expect(msg).toContain('`npx lets-native build`');
    expect(msg).not.toMatch(/packages\/native|scripts\/build\.mjs|npm install runs it/);
  });

  it("'auto' goes on to the next backend without a warning (the user chose not to install it)", async () => {
    const warn = jest.spyOn(console, 'warn');
    const { initRuntime } = withNative(notInstalled);
    const info = await initRuntime({ backend: 'auto' });
    expect(['tensorflow', 'webgpu', 'wasm', 'cpu']).toContain(info.backend);
    expect(warn.mock.calls.filter((c) => /native/.test(String(c[0])))).toEqual([]);
  });
});

describe('@lets/native installed, addon not built', () => {
  const reason = 'addon not built (/x/build/Release/lets_native.node missing; install g++, then run `npx lets-native build`)';
  const unbuilt = () => ({
    registerNativeBackend: () => false,
    nativeInfo: () => ({ available: false, reason }),
    describeNative: () => 'unavailable',
  });

  it("asking for 'native' gives the addon's reason and the build command", async () => {
    const { initRuntime } = withNative(unbuilt);
    await expect(initRuntime({ backend: 'native' })).rejects.toThrow(
      /backend 'native' is not available: addon not built \(.*missing; install g\+\+, then run `npx lets-native build`\)\. Install it with `npm install @lets\/native`.*then build the addon with `npx lets-native build`/,
    );
  });

  it("'auto' warns once, naming npx lets-native build, and falls back", async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { initRuntime } = withNative(unbuilt);
    const info = await initRuntime({ backend: 'auto' });
    expect(info.backend).not.toBe('native');
    const lines = warn.mock.calls.map((c) => String(c[0])).filter((l) => /native/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`lets: native backend unavailable (${reason}); falling back to wasm. Build it with \`npx lets-native build\``);
    expect(tf.getBackend()).toBe(info.backend);
  });
});

test('a missing wasm peer gives the install command, not a raw module error', async () => {
  let backend: Backend | undefined;
  jest.isolateModules(() => {
    jest.doMock('@tensorflow/tfjs-core', () => tf);
    jest.doMock('@tensorflow/tfjs-backend-wasm', () => {
      throw Object.assign(new Error("Cannot find module '@tensorflow/tfjs-backend-wasm'"), { code: 'MODULE_NOT_FOUND' });
    });
    backend = require('./backend') as Backend;
  });
  try {
    await expect(backend!.initRuntime({ backend: 'wasm' })).rejects.toThrow(
      "@lets/runtime: backend 'wasm' is not available: @tensorflow/tfjs-backend-wasm does not load (Cannot find module '@tensorflow/tfjs-backend-wasm'). " +
        'Install it with `npm install @tensorflow/tfjs-backend-wasm@^4.22.0` (a peer dependency of @lets/runtime)',
    );
  } finally {
    jest.dontMock('@tensorflow/tfjs-backend-wasm');
  }
});
