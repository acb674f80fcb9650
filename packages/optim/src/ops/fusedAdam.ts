/**
 * The fused Adam step, reached through tfjs's kernel registry by name: @lets/runtime registers
 * the kernel `LetsFusedAdam` for every backend that can run it (cpu, wasm and native, in
 * `initRuntime` / `registerTrainingKernels`; a backend of your own through runtime's
 * `registerFusedAdamKernel`). optim never imports runtime: it looks the kernel up for the
 * current backend and, where there is none, composes tfjs ops (see scaleByAdam.ts).
 *
 * The contract (name, inputs, attributes) is declared on both sides: here and in
 * packages/runtime/src/kernels/fused_adam.ts.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Kernel name of the fused Adam step. */
export const FUSED_ADAM = 'LetsFusedAdam';

/**
 * Attributes of the fused Adam step (documented with the kernel, runtime's `FusedAdamAttrs`): with
 * c1 = 1 − b1ᵗ, c2 = 1 − b2ᵗ, r = √c2, `cm` = r/c1 and `cg` = 0 (Adam) or b1·r/(1 − b1ᵗ⁺¹) and
 * (1 − b1)·r/c1 (NAdam), `er` = c2·epsRoot, `ee` = r·eps; inputs `{g, m, v}`, outputs `[m′, v′, u]`.
 */
export type FusedAdamAttrs = Readonly<Record<'b1' | 'b2' | 'cm' | 'cg' | 'er' | 'ee', number>>;

/**
 * True when the fused step can run now: the current backend has the kernel registered and no
 * gradient tape is recording (the kernel has no gradient, so under `tf.grad` the composed ops
 * are used and stay differentiable).
 */
export const fusedAdamAvailable = (): boolean =>
  tf.engine().state.gradientDepth === 0 && tf.getKernel(FUSED_ADAM, tf.getBackend()) !== undefined;

/** Runs the fused step on float32 tensors of one shape: `[m′, v′, u]`, new tensors. */
export const fusedAdam = (g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: FusedAdamAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] =>
  tf.engine().runKernel(FUSED_ADAM, { g, m, v }, attrs as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
