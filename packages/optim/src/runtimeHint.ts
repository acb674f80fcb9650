import * as tf from '@tensorflow/tfjs-core';

/**
 * Whether tfjs has gradient functions registered at all (not only for one op). tfjs-core's Node
 * entry registers none; `@tensorflow/tfjs` and @lets/runtime's `initRuntime()` register them all.
 */
const gradientsRegistered = (): boolean => ['Add', 'Mul', 'Sum'].some((k) => tf.getGradient(k) != null);

/**
 * tfjs's errors when nothing has set it up for training name no cause: "No backend found in
 * registry.", "Backend 'wasm' has not yet been initialized", "Cannot compute gradient: gradient
 * function not found for Mean." The cause is almost always that @lets/runtime's `initRuntime()`
 * was not called (it starts a backend and registers the gradients). `explainMissingRuntime(e,
 * where)` returns an error that says so, prefixed with `where`, with `e` as its `cause`; any other
 * error (a gradient missing for one op while others are registered included) comes back as it is.
 * It only names the runtime: optim never imports it (the algebra is pure math on tensors).
 */
export const explainMissingRuntime = (e: unknown, where: string): unknown => {
  const msg = e instanceof Error ? e.message : String(e);
  if (msg.includes('initRuntime()')) return e;
  const call = 'Call `await initRuntime()` from @lets/runtime first';
  if (/No backend found in registry|has not yet been initialized/.test(msg)) {
    return new Error(
      `${where}: no tfjs backend is ready (tfjs: "${msg}"). ${call}: it starts a backend ` +
        "(LETS_BACKEND or { backend: 'cpu' | 'wasm' | 'native' | … } chooses one) and registers the gradients training needs.",
      { cause: e },
    );
  }
  const op = /gradient function not found for (\w+)/.exec(msg);
  if (op !== null && !gradientsRegistered()) {
    return new Error(
      `${where}: tfjs has no gradient functions registered (tfjs: "${msg}"). ${call}: ` +
        "@tensorflow/tfjs-core's Node entry registers none, and initRuntime registers them all (twice-differentiable ones included).",
      { cause: e },
    );
  }
  return e;
};
