/**
 * Checkpoints of a training run: params, model state, optimizer state (LETS's ρ, its
 * optimizer and the pending tangent included) and the counters, bit for bit.
 *
 * The file format, the checksum and the atomic write are @lets/runtime's
 * (`saveCheckpoint` / `loadCheckpoint`: temporary file, fsync, rename, SHA-256 verified before
 * anything is decoded); this module only checks that what comes back is a training state.
 */
import * as E from 'fp-ts/Either';
import * as runtime from '@lets/runtime';
import type { TrainState } from './types';

const asTrainState = (s: unknown, source: string): E.Either<Error, TrainState<unknown>> => {
  const t = s as Partial<TrainState<unknown>> | null;
  if (t === null || typeof t !== 'object' || typeof t.step !== 'number' || typeof t.epoch !== 'number' || t.params === undefined) {
    return E.left(new Error(`${source}: expected a training state {params, modelState, optState, step, epoch}`));
  }
  return E.right(t as TrainState<unknown>);
};

/** The bytes of a checkpoint of `state` (runtime's checksummed format). */
export const encodeCheckpoint = (state: TrainState<unknown>): Uint8Array => runtime.encodeCheckpoint(state);

/** Verifies and decodes checkpoint bytes into a training state with new tensors. */
export const decodeCheckpoint = (bytes: Uint8Array, source = 'checkpoint'): E.Either<Error, TrainState<unknown>> =>
  E.chain((s: unknown) => asTrainState(s, source))(runtime.decodeCheckpoint(bytes, source));

/** Writes `state` to `file` atomically; a crash leaves the previous checkpoint loadable. */
export const saveCheckpoint = (file: string, state: TrainState<unknown>): Promise<void> =>
  runtime.saveCheckpoint(file, state);

/** Reads a checkpoint written by `saveCheckpoint`; Left names the file and what is wrong. */
export const loadCheckpoint = async (file: string): Promise<E.Either<Error, TrainState<unknown>>> =>
  E.chain((s: unknown) => asTrainState(s, file))(await runtime.loadCheckpoint(file));
