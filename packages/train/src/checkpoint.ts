/**
 * The one checkpoint format of a training run: @lets/runtime's checksummed bytes (magic, a
 * header with the SHA-256 of the contents, the @lets/tree state manifest, the raw tensor bytes)
 * holding a `TrainState` — params, model state, optimizer state (LETS's ρ, its optimizer and the
 * pending tangent included) and the counters, bit for bit — and an optional `meta`: JSON-like
 * data of whoever wrote it (the `lets` command records its config and its commit record there).
 *
 * The verification before anything is decoded is runtime's; this module fixes what the bytes
 * hold and checks them on the way back. Free of Node built-ins (a page stores the bytes);
 * the files are checkpoint_file.ts's (Node entry), written atomically by runtime.
 */
import * as E from 'fp-ts/Either';
import * as runtime from '@lets/runtime';
import { disposeState } from '@lets/tree';
import type { TrainState } from './types';

/** What a checkpoint's writer records beside the state (plain JSON-like data, no tensors). */
export type CheckpointMeta = Readonly<Record<string, unknown>>;

/** A loaded checkpoint: the training state, and the writer's `meta` when it recorded one. */
export type Checkpoint<S = unknown> = TrainState<S> & { readonly meta?: CheckpointMeta };

/** Exactly the fields of the format, in a fixed order (a state carrying more keeps them out). */
export const contentsOf = (state: TrainState<unknown>, meta?: CheckpointMeta): Record<string, unknown> => ({
  params: state.params,
  modelState: state.modelState,
  optState: state.optState,
  step: state.step,
  epoch: state.epoch,
  ...(state.batchInEpoch !== undefined ? { batchInEpoch: state.batchInEpoch } : {}),
  ...(state.best !== undefined ? { best: state.best } : {}),
  ...(state.valCursor !== undefined ? { valCursor: state.valCursor } : {}),
  ...(meta !== undefined ? { meta } : {}),
});

export const asCheckpoint = (s: unknown, source: string): E.Either<Error, Checkpoint<unknown>> => {
  const t = s as Partial<Checkpoint<unknown>> | null;
  const bad =
    t === null || typeof t !== 'object' || typeof t.step !== 'number' || typeof t.epoch !== 'number' || t.params === undefined
      ? 'expected a training state {params, modelState, optState, step, epoch}'
      : t.meta !== undefined && (t.meta === null || typeof t.meta !== 'object')
        ? 'its meta is not an object'
        : undefined;
  if (bad !== undefined) {
    if (t !== null && typeof t === 'object') disposeState(t);
    return E.left(new Error(`${source}: ${bad}`));
  }
  return E.right(t as Checkpoint<unknown>);
};

/** The bytes of a checkpoint of `state` (and `meta`), in runtime's checksummed format. */
export const encodeCheckpoint = (state: TrainState<unknown>, meta?: CheckpointMeta): Uint8Array =>
  runtime.encodeStateFile(contentsOf(state, meta));

/** Verifies and decodes checkpoint bytes into a training state (new tensors) and its meta. */
export const decodeCheckpoint = (bytes: Uint8Array, source = 'checkpoint'): E.Either<Error, Checkpoint<unknown>> =>
  E.chain((s: unknown) => asCheckpoint(s, source))(runtime.decodeStateFile(bytes, source));
