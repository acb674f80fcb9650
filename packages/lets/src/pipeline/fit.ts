/**
 * The epoch loop: for each epoch, every training batch goes through the step function (with a
 * validation batch for LETS, cycled from its own source), then the model is evaluated on the
 * evaluation source, callbacks run and a checkpoint is written. The run's state is consumed
 * and replaced at every step, so the live tensor count stays flat.
 */
import * as T from '@lets/tree';
import type { GradientTransformation } from '@lets/optim';
import { evaluate } from './evaluate';
import { saveCheckpoint } from './checkpoint';
import { initTrainState, makeTrainStep, rhoOf } from './step';
import type { BatchSource, EpochMetrics, LossOf, StepMetrics, TrainableModel, TrainBatch, TrainState } from './types';

/**
 * Callbacks; return 'stop' to end the run: from `onStep`, after that step (the epoch is cut
 * short, then evaluated, checkpointed and counted as completed); from `onEpoch`, after that epoch.
 */
export interface Callbacks {
  readonly onStep?: (m: StepMetrics) => void | 'stop' | Promise<void | 'stop'>;
  readonly onEpoch?: (m: EpochMetrics, state: TrainState<unknown>) => void | 'stop' | Promise<void | 'stop'>;
}

export interface FitOptions<S> {
  readonly model: TrainableModel;
  readonly optimizer: GradientTransformation<S>;
  /** Training batches of an epoch. */
  readonly train: BatchSource;
  /** LETS's validation batches (held out from the training data, never the test set), cycled. */
  readonly validation?: BatchSource;
  /** Batches evaluated after every epoch (a held-out or test split). */
  readonly evaluation?: BatchSource;
  /** Epochs to run in total (a resumed run continues up to this number). */
  readonly epochs: number;
  /** Seed of model init and dropout (default 0). */
  readonly seed?: number;
  readonly loss?: LossOf;
  readonly callbacks?: Callbacks;
  /** Write `file` after every `every` epochs (default 1) and at the end. */
  readonly checkpoint?: { readonly file: string; readonly every?: number };
  /** Continue from this state (e.g. a loaded checkpoint) instead of a fresh init; it is consumed. */
  readonly resume?: TrainState<S>;
}

export interface FitResult<S> {
  /** The final state, owned by the caller. */
  readonly state: TrainState<S>;
  readonly history: readonly EpochMetrics[];
}

/**
 * Cycles a batch source across its epochs from a cursor: next() always returns a batch and the
 * cursor of the batch after it (batches skipped to reach the cursor are disposed).
 */
const cycle = (source: BatchSource, start: { epoch: number; index: number } = { epoch: 0, index: 0 }) => {
  let epoch = start.epoch;
  let index = 0;
  let skip = start.index;
  let it: Iterator<TrainBatch> | AsyncIterator<TrainBatch> | undefined;
  const open = () => {
    const s = source(epoch);
    it = Symbol.asyncIterator in s ? (s as AsyncIterable<TrainBatch>)[Symbol.asyncIterator]() : (s as Iterable<TrainBatch>)[Symbol.iterator]();
    index = 0;
  };
  return async (): Promise<{ batch: TrainBatch; cursor: { epoch: number; index: number } }> => {
    let emptyEpochs = 0;
    for (;;) {
      if (it === undefined) open();
      const r = await it!.next();
      if (r.done) {
        it = undefined;
        epoch += 1;
        skip = 0;
        if (index === 0 && ++emptyEpochs >= 2) throw new Error('fit: the validation source yielded no batches; expected at least one');
        continue;
      }
      index += 1;
      if (skip > 0) {
        skip -= 1;
        r.value.dispose?.();
        continue;
      }
      return { batch: r.value, cursor: { epoch, index } };
    }
  };
};

export const fit = async <S>(options: FitOptions<S>): Promise<FitResult<S>> => {
  const { model, optimizer, epochs } = options;
  if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`fit: epochs must be an integer ≥ 0, got ${epochs}`);
  const every = options.checkpoint?.every ?? 1;
  if (options.checkpoint !== undefined && (!Number.isInteger(every) || every < 1)) {
    throw new Error(`fit: checkpoint.every must be an integer ≥ 1, got ${every}`);
  }
  const seed = options.seed ?? 0;
  const step = makeTrainStep({ model, optimizer, seed, ...(options.loss ? { loss: options.loss } : {}) });
  let state: TrainState<S> = options.resume ?? initTrainState(model, optimizer, seed);
  const nextVal = options.validation !== undefined ? cycle(options.validation, state.valCursor) : undefined;
  const history: EpochMetrics[] = [];
  let stop = false;
  while (state.epoch < epochs && !stop) {
    const t0 = Date.now();
    let lossSum = 0;
    let accSum = 0;
    let n = 0;
    for await (const batch of options.train(state.epoch)) {
      const v = nextVal !== undefined ? await nextVal() : undefined;
      const val = v?.batch;
      try {
        const r = step(state, batch, val);
        state = v !== undefined ? { ...r.state, valCursor: v.cursor } : r.state;
        lossSum += r.metrics.loss;
        accSum += r.metrics.accuracy;
        n += 1;
        if ((await options.callbacks?.onStep?.(r.metrics)) === 'stop') stop = true;
      } finally {
        batch.dispose?.();
        val?.dispose?.();
      }
      if (stop) break;
    }
    state = { ...state, epoch: state.epoch + 1 };
    const evaluation =
      options.evaluation !== undefined
        ? await evaluate(model, state.params, state.modelState, options.evaluation(state.epoch - 1), options.loss)
        : undefined;
    const rho = rhoOf(state.optState);
    const m: EpochMetrics = {
      epoch: state.epoch - 1,
      step: state.step,
      trainLoss: n > 0 ? lossSum / n : NaN,
      trainAccuracy: n > 0 ? accSum / n : NaN,
      ...(evaluation !== undefined ? { evaluation } : {}),
      ...(rho !== undefined ? { rho } : {}),
      seconds: (Date.now() - t0) / 1000,
    };
    history.push(m);
    if ((await options.callbacks?.onEpoch?.(m, state)) === 'stop') stop = true;
    if (options.checkpoint !== undefined && (state.epoch % every === 0 || state.epoch >= epochs || stop)) {
      await saveCheckpoint(options.checkpoint.file, state);
    }
  }
  return { state, history };
};

/** Disposes every tensor of a run state. */
export const disposeTrainState = (state: TrainState<unknown>): void => {
  T.dispose(state.params);
  T.dispose(state.modelState);
  T.disposeState(state.optState);
};
