/**
 * Checkpoint files (Node only): the bytes of checkpoint.ts written atomically by
 * @lets/runtime (temporary file, fsync, rename), and read back verified.
 */
import * as E from 'fp-ts/Either';
import * as runtime from '@lets/runtime';
import { asCheckpoint, contentsOf, type Checkpoint, type CheckpointMeta } from './checkpoint';
import type { TrainState } from './types';

/** Writes `state` (and `meta`) to `file` atomically; a crash leaves the previous checkpoint loadable. */
export const saveCheckpoint = (file: string, state: TrainState<unknown>, meta?: CheckpointMeta): Promise<void> =>
  runtime.saveStateFile(file, contentsOf(state, meta));

/** Reads a checkpoint written by `saveCheckpoint` (or by the `lets` command); Left names the file and what is wrong. */
export const loadCheckpoint = async (file: string): Promise<E.Either<Error, Checkpoint<unknown>>> =>
  E.chain((s: unknown) => asCheckpoint(s, file))(await runtime.loadStateFile(file));
