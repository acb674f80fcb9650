/**
 * The browser smoke program (bundled by tools/test/browser.test.ts with esbuild
 * --platform=browser, run in headless Chromium): LETS-SAM trains a small MLP on two Gaussian
 * blobs through @lets/train's `fit` on the backend named in `?backend=` (cpu, webgl, …), ρ is read
 * back from the step metrics, the checkpoint `fit` hands to `checkpoint.write` and one encoded
 * here are decoded and compared bit for bit, and the result goes to `window.__result`.
 * It uses the packages as a page would: @lets/runtime (browser entry), tree, optim, sam, lets,
 * train, models (and bilevel through lets).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import * as E from 'fp-ts/Either';
import { initRuntime, random, type BackendName } from '@lets/runtime';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import { sgd } from '@lets/optim';
import { sam } from '@lets/sam';
import { lets } from '@lets/lets';
import { decodeCheckpoint, encodeCheckpoint, fit, type TrainableModel, type TrainBatch, type TrainState } from '@lets/train';
import { mlp } from '@lets/models';

interface SmokeResult {
  readonly backend: string;
  readonly steps: number;
  readonly losses: number[];
  readonly rhos: number[];
  readonly rho0: number;
  readonly accuracy: number;
  readonly checkpointBytes: number;
  readonly checkpointKeys: string[];
  readonly bitExact: boolean;
  readonly fitBytesEqualEncoded: boolean;
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
  readonly nodeFileApi: boolean;
  readonly nodeOnlyRefusal: string;
  readonly error?: string;
}

const out = (r: Partial<SmokeResult>) => {
  (window as unknown as { __result: unknown }).__result = r;
  const pre = document.getElementById('out');
  if (pre) pre.textContent = JSON.stringify(r, null, 2);
};

const bytesOf = (t: tf.Tensor): number[] => {
  const v = t.dataSync();
  return Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
};

const sameBits = (a: Params, b: Params): boolean =>
  Object.keys(a).length === Object.keys(b).length &&
  Object.keys(a).every((k) => b[k] !== undefined && bytesOf(a[k]!).join() === bytesOf(b[k]!).join());

async function main(): Promise<void> {
  const q = new URLSearchParams(location.search);
  const backend = (q.get('backend') ?? 'cpu') as BackendName | 'auto';
  // a Node-only backend is refused with a message saying where it runs (before the real start)
  let nodeOnlyRefusal = '';
  try {
    await initRuntime({ backend: 'native' });
  } catch (e) {
    nodeOnlyRefusal = e instanceof Error ? e.message : String(e);
  }
  const info = await initRuntime({ backend });

  // two Gaussian blobs in 2-D, 96 points, from a fixed key (the same data on every backend)
  const n = 96;
  const [kx] = random.split(random.key(7));
  const labels = Array.from({ length: n }, (_, i) => i % 2);
  const xs = tf.tidy(() => tf.add(tf.tensor2d(labels.flatMap((c) => (c === 0 ? [-1, -1] : [1, 1])), [n, 2]), tf.mul(random.normal(kx!, [n, 2]), 0.6)));
  const ys = tf.tensor1d(labels, 'int32');
  const batches = (from: number, to: number, size: number) => () =>
    (function* (): Generator<TrainBatch> {
      for (let s = from; s < to; s += size) {
        const x = tf.slice(xs, [s, 0], [Math.min(size, to - s), 2]);
        const y = tf.slice(ys, [s], [Math.min(size, to - s)]);
        yield { x, y, dispose: () => tf.dispose([x, y]) };
      }
    })();

  // @lets/models' MLP: dense0 (2→8, tanh) → head (8→2), weights from runtime random keys
  const model: TrainableModel = mlp({ inputDim: 2, hidden: [8], numClasses: 2, activation: 'tanh' });

  const rho0 = 0.05;
  const store = new Map<string, Uint8Array>();
  const losses: number[] = [];
  const rhos: number[] = [];
  const tensorsBefore = tf.memory().numTensors;
  const run = await fit({
    model,
    optimizer: lets(sam(sgd(0.2, { momentum: 0.9 }), { rho: rho0 }), { every: 1, rhoOptimizer: sgd(1) }),
    train: batches(0, 64, 16),
    validation: batches(64, 96, 16),
    evaluation: batches(64, 96, 32),
    epochs: 3,
    checkpoint: { file: 'smoke/last', write: (name, bytes) => void store.set(name, bytes.slice()) },
    callbacks: {
      onStep: (m) => {
        losses.push(m.loss);
        if (m.rho !== undefined) rhos.push(m.rho);
      },
    },
  });
  const state = run.state as TrainState<unknown>;
  const accuracy = run.history.at(-1)?.evaluation?.accuracy ?? NaN;

  // the bytes fit wrote, and the bytes encoded here, decode to the same tensors bit for bit
  const written = store.get('smoke/last')!;
  const encoded = encodeCheckpoint(state, { page: location.pathname });
  const a = decodeCheckpoint(written, 'smoke/last');
  const b = decodeCheckpoint(encoded, 'encoded');
  if (E.isLeft(a)) throw a.left;
  if (E.isLeft(b)) throw b.left;
  const bitExact = sameBits(a.right.params, state.params) && sameBits(b.right.params, state.params) && a.right.step === state.step && b.right.meta?.['page'] === location.pathname;
  const rhoAfter = (b.right.optState as { variant?: { rho?: number } }).variant?.rho;
  const fitBytesEqualEncoded = encodeCheckpoint(state).join() === written.join();
  T.disposeState(a.right);
  T.disposeState(b.right);
  T.dispose(state.params);
  T.dispose(state.modelState);
  T.disposeState(state.optState);
  const tensorsAfter = tf.memory().numTensors;
  tf.dispose([xs, ys]);
  const runtime = (await import('@lets/runtime')) as Record<string, unknown>;

  out({
    backend: info.backend,
    steps: losses.length,
    losses,
    rhos: rhoAfter !== undefined ? [...rhos, rhoAfter] : rhos,
    rho0,
    accuracy,
    checkpointBytes: written.length,
    checkpointKeys: [...store.keys()],
    bitExact,
    fitBytesEqualEncoded,
    tensorsBefore,
    tensorsAfter,
    nodeFileApi: 'saveStateFile' in runtime || 'loadStateFile' in runtime,
    nodeOnlyRefusal,
  });
}

main().catch((e: unknown) => {
  console.error(e);
  out({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
});
