// The consumer test's program (tools/consumer/run.mjs type-checks it under `strict` and runs it as
// ESM and, with its imports rewritten to `import x = require(...)`, as CommonJS; without the
// node-only regions it is bundled with esbuild --platform=browser and run in headless Chromium),
// in a fresh project outside the repository that installed the packed tarballs:
//   npm install @lets/lets @lets/runtime @tensorflow/tfjs-core @tensorflow/tfjs-backend-wasm
// It is the README's first example grown a little: an optax-style chain, a SAM variant (ASAM),
// LETS for a few steps, no leaked tensors, and a checkpoint round trip with a bit-exact resume.
// Keep it in step with the README example when the public API changes.
import * as tf from '@tensorflow/tfjs-core';
import { initRuntime, softmaxCrossEntropy, encodeStateFile, decodeStateFile } from '@lets/runtime';
import { chain, clipByGlobalNorm, sgd, applyUpdates, gradFnOf } from '@lets/optim';
import { asam } from '@lets/sam';
import { lets } from '@lets/lets';
import { dispose, disposeState } from '@lets/tree';
import type { Params } from '@lets/tree';
// node-only-start
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Through a file and back (in a page the bytes stay in memory, as IndexedDB would keep them). */
function throughFile(bytes: Uint8Array): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'lets-consumer-ckpt-'));
  try {
    const file = join(dir, 'state.ckpt');
    writeFileSync(file, bytes);
    return new Uint8Array(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
// node-only-end

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`consumer program: ${what}`);
}

async function main(): Promise<void> {
  const info = await initRuntime();

  const lossOn = (x: tf.Tensor, y: tf.Tensor) => (p: Params): tf.Scalar =>
    softmaxCrossEntropy(tf.add(tf.matMul(x, p['w']!), p['b']!), y);
  // a separable 3-class problem: labels from a fixed linear map of the inputs
  const teacher = tf.randomNormal([20, 3], 0, 1, 'float32', 7);
  const batch = (seed: number) => {
    const x = tf.randomNormal([64, 20], 0, 1, 'float32', seed);
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.argMax(tf.matMul(x, teacher), 1), 3), 'float32'));
    return { x, y };
  };
  const train = batch(1);
  const val = batch(2);

  const opt = lets(asam(chain(clipByGlobalNorm(1), sgd(0.1, { momentum: 0.9 })), { rho: 0.05 }), { estimator: 'fd', every: 2 });
  let params: Params = { w: tf.randomNormal([20, 3], 0, 0.1, 'float32', 3), b: tf.zeros([3]) };
  let state = opt.init(params);

  const step = (p: Params, s: typeof state): { params: Params; state: typeof state; loss: number } => {
    const gradFn = gradFnOf(lossOn(train.x, train.y));
    const { loss, grads } = gradFn(p);
    const [updates, next] = opt.update(grads, s, p, { loss, gradFn, valGradFn: gradFnOf(lossOn(val.x, val.y)) });
    const newParams = applyUpdates(p, updates);
    const value = loss.dataSync()[0]!;
    dispose(updates);
    dispose(grads);
    loss.dispose();
    return { params: newParams, state: next, loss: value };
  };

  const losses: number[] = [];
  let tensorsAfterWarmup = 0;
  for (let i = 0; i < 8; i++) {
    const r = step(params, state);
    dispose(params);
    disposeState(state);
    params = r.params;
    state = r.state;
    losses.push(r.loss);
    if (i === 1) tensorsAfterWarmup = tf.memory().numTensors;
  }
  const rho = opt.metrics(state).rho;
  check(losses.every(Number.isFinite), `a loss is not finite: ${losses.join(', ')}`);
  check(losses[losses.length - 1]! < losses[0]!, `the loss did not go down: ${losses.join(', ')}`);
  check(Number.isFinite(rho) && rho > 0 && rho !== 0.05, `LETS did not move rho from 0.05 (rho = ${rho})`);
  check(tf.memory().numTensors === tensorsAfterWarmup, `tensors leaked: ${tensorsAfterWarmup} after step 2, ${tf.memory().numTensors} after step 8`);

  // checkpoint: bytes through a file and back, then one more step from each copy gives the same params
  let bytes = encodeStateFile({ params, state });
  // node-only-start
  bytes = throughFile(bytes);
  // node-only-end
  const decoded = decodeStateFile(bytes, 'the checkpoint');
  if (decoded._tag === 'Left') throw decoded.left;
  const restored = decoded.right as { params: Params; state: typeof state };
  check(opt.metrics(restored.state).rho === rho, `the restored rho ${opt.metrics(restored.state).rho} is not ${rho}`);
  const a = step(params, state);
  const b = step(restored.params, restored.state);
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a.params['w']!, b.params['w']!))).dataSync()[0]!);
  check(diff === 0 && a.loss === b.loss, `resuming from the checkpoint differs (max |Δw| = ${diff})`);

  const result = { backend: info.backend, tfjs: info.tfjsVersion, losses, rho, checkpointBytes: bytes.length };
  (globalThis as { __result?: unknown }).__result = result; // what a page reports to the browser test
  console.log(`consumer-program: ${JSON.stringify(result)}`);
}

main().catch((e: unknown) => {
  (globalThis as { __result?: unknown }).__result = { error: String(e instanceof Error ? (e.stack ?? e.message) : e) };
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  if (typeof process !== 'undefined') process.exit(1);
});
