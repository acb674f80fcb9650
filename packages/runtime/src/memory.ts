/**
 * Memory scopes for training steps, and a leak detector for tests.
 *
 * tfjs tensors are not garbage-collected. `tf.tidy` frees a synchronous function's
 * temporaries but refuses async functions, and only keeps tensors it finds in arrays and
 * plain objects. `stepScope` runs a sync or async step, keeps exactly the tensors reachable
 * from its result (through arrays, plain objects, class instances' fields, Maps and Sets;
 * other values are returned untouched), disposes every other tensor the step created, and
 * optionally releases the previous state (`release`) except what the result still uses.
 * Contract: one step at a time. Tensors created by unrelated code while the step awaits are
 * attributed to the step (tfjs scopes are a stack, not async-context aware).
 */
import * as tf from '@tensorflow/tfjs-core';

/** All distinct tensors reachable from `value`. */
export function tensorsIn(value: unknown): tf.Tensor[] {
  const out = new Map<number, tf.Tensor>();
  const seen = new Set<unknown>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (v instanceof tf.Tensor) {
      out.set(v.id, v);
      return;
    }
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return;
    if (v instanceof Map) {
      for (const [k, x] of v) {
        walk(k);
        walk(x);
      }
      return;
    }
    if (v instanceof Set || Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k]);
  };
  walk(value);
  return [...out.values()];
}

export interface StepScopeOptions {
  /** Previous state to dispose after the step, except tensors the result still holds. */
  readonly release?: unknown;
  /** A name for the scope (shows in tfjs profiles). */
  readonly name?: string;
}

function finish<T>(result: T, options: StepScopeOptions): T {
  const keep = tensorsIn(result);
  tf.engine().endScope(keep as unknown as tf.TensorContainer);
  if (options.release !== undefined) {
    const kept = new Set(keep.map((t) => t.id));
    for (const t of tensorsIn(options.release)) if (!kept.has(t.id) && !t.isDisposed) t.dispose();
  }
  return result;
}

function isPromise(x: unknown): x is Promise<unknown> {
  return x !== null && typeof x === 'object' && typeof (x as { then?: unknown }).then === 'function';
}

/**
 * Runs `step` (sync or async) in a memory scope; see the module comment. If the step
 * throws, every tensor it created is disposed and `release` is left alone.
 */
export async function stepScope<T>(step: () => T | Promise<T>, options: StepScopeOptions = {}): Promise<T> {
  tf.engine().startScope(options.name ?? 'stepScope');
  let result: T;
  try {
    const r = step();
    result = isPromise(r) ? await r : r;
  } catch (e) {
    tf.engine().endScope(null as unknown as tf.TensorContainer);
    throw e;
  }
  return finish(result, options);
}

/** `stepScope` for a synchronous step (returns its result directly). */
export function stepScopeSync<T>(step: () => T, options: StepScopeOptions = {}): T {
  tf.engine().startScope(options.name ?? 'stepScope');
  let result: T;
  try {
    result = step();
    if (isPromise(result)) throw new Error('stepScopeSync: the step returned a Promise; use stepScope');
  } catch (e) {
    tf.engine().endScope(null as unknown as tf.TensorContainer);
    throw e;
  }
  return finish(result, options);
}

/** What `countLeaks` measured. */
export interface LeakReport {
  readonly steps: number;
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** Live tensors gained per step (0 when nothing leaks). */
  readonly tensorsPerStep: number;
}

/**
 * Runs `fn` `warmup` times, then `steps` times, disposing whatever tensors each call returns,
 * and reports how the live tensor count and bytes changed over the timed calls.
 */
export async function countLeaks(fn: () => unknown, steps = 5, warmup = 1): Promise<LeakReport> {
  const once = async (): Promise<void> => {
    const r = fn();
    const v = isPromise(r) ? await r : r;
    for (const t of tensorsIn(v)) if (!t.isDisposed) t.dispose();
  };
  for (let i = 0; i < warmup; i++) await once();
  const m0 = tf.memory();
  for (let i = 0; i < steps; i++) await once();
  const m1 = tf.memory();
  return {
    steps,
    tensorsBefore: m0.numTensors,
    tensorsAfter: m1.numTensors,
    bytesBefore: m0.numBytes,
    bytesAfter: m1.numBytes,
    tensorsPerStep: (m1.numTensors - m0.numTensors) / steps,
  };
}

/**
 * Throws if `fn` leaves live tensors behind: after `warmup` calls, `steps` more calls
 * must not change tf.memory().numTensors or numBytes. Tensors `fn` returns are disposed.
 */
export async function expectNoLeak(fn: () => unknown, steps = 5, warmup = 1): Promise<LeakReport> {
  const r = await countLeaks(fn, steps, warmup);
  if (r.tensorsAfter !== r.tensorsBefore || r.bytesAfter !== r.bytesBefore) {
    throw new Error(
      `expectNoLeak: ${r.tensorsAfter - r.tensorsBefore} tensors (${r.bytesAfter - r.bytesBefore} bytes) leaked over ` +
        `${steps} steps (${r.tensorsPerStep} per step; live tensors ${r.tensorsBefore} → ${r.tensorsAfter})`,
    );
  }
  return r;
}
