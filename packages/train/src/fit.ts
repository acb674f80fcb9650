/**
 * The epoch loop: for each epoch, every training batch goes through the step function (with a
 * validation batch for LETS, cycled from its own source), then the model is evaluated on the
 * evaluation source, callbacks run and a checkpoint is written. The run's state is consumed
 * and replaced at every step, so the live tensor count stays flat.
 */
import * as T from '@lets/tree';
import type { GradientTransformation } from '@lets/optim';
import { evaluate } from './evaluate';
import { encodeCheckpoint } from './checkpoint';
import { initTrainState, makeTrainStep, type StepOptions } from './step';
import type { BatchItem, BatchSource, EpochMetrics, EvalMetrics, LossOf, StepMetrics, TrainableModel, TrainBatch, TrainState } from './types';

/**
 * Callbacks; return 'stop' to end the run: from `onStep`, after that step (the epoch is cut
 * short, then evaluated, checkpointed and counted as completed); from `onEpoch`, after that epoch.
 * The states they see belong to `fit`: read them (or checkpoint them), never dispose them.
 * A callback that throws ends the run: `fit` disposes the run state and rethrows.
 */
export interface Callbacks {
  /** Before an epoch's first step; `batchInEpoch` batches of it are already done (a resumed run). */
  readonly onEpochStart?: (epoch: number, batchInEpoch: number) => void | Promise<void>;
  /** After every step, with the state after it (its `batchInEpoch` and `valCursor` included). */
  readonly onStep?: (m: StepMetrics, state: TrainState<unknown>) => void | 'stop' | Promise<void | 'stop'>;
  readonly onEpoch?: (m: EpochMetrics, state: TrainState<unknown>) => void | 'stop' | Promise<void | 'stop'>;
}

export interface FitOptions<S> {
  readonly model: TrainableModel;
  readonly optimizer: GradientTransformation<S>;
  /** Training batches of an epoch (a resumed epoch skips its first `batchInEpoch`, unbuilt when thunks). */
  readonly train: BatchSource;
  /** LETS's validation batches (held out from the training data, never the test set), cycled. */
  readonly validation?: BatchSource;
  /** Batches evaluated after every epoch (a held-out or test split). */
  readonly evaluation?: BatchSource;
  /** More sources evaluated after every epoch, by name (e.g. `{ validation, test }`). */
  readonly evaluations?: Readonly<Record<string, BatchSource>>;
  /**
   * The score of an epoch, higher is better (e.g. validation accuracy); an epoch that beats
   * every earlier one (`TrainState.best`, kept across resumes) is marked `improved`.
   */
  readonly best?: (m: EpochMetrics) => number;
  /** Epochs to run in total (a resumed run continues up to this number). */
  readonly epochs: number;
  /** Seed of model init and dropout (default 0). */
  readonly seed?: number;
  readonly loss?: LossOf;
  /** The loss of LETS's validation passes (`makeTrainStep`'s `valLoss`; default `loss`). */
  readonly valLoss?: LossOf;
  /** Step options passed through (per-sample loss for ESAM, micro-batches for mSAM). */
  readonly sampleLoss?: StepOptions<S>['sampleLoss'];
  readonly microBatches?: number;
  readonly callbacks?: Callbacks;
  /**
   * Write `file` after every `every` epochs (default 1) and at the end, and also after every
   * `everySteps` steps (mid-epoch: the state's `batchInEpoch` and `valCursor` resume it
   * exactly); `bestFile` gets the state of every `improved` epoch.
   */
  readonly checkpoint?: {
    readonly file: string;
    readonly every?: number;
    readonly everySteps?: number;
    readonly bestFile?: string;
    /**
     * Where the checkpoint bytes go: `write(file, bytes)` for `file` and `bestFile`. Default in
     * Node: an atomic file write; in a browser there is none (pass one, e.g. into IndexedDB).
     */
    readonly write?: CheckpointWriter;
  };
  /** Continue from this state (e.g. a loaded checkpoint) instead of a fresh init; it is consumed. */
  readonly resume?: TrainState<S>;
}

/** Stores checkpoint bytes under a name (a file path in Node; any key in a page). */
export type CheckpointWriter = (target: string, bytes: Uint8Array) => void | Promise<void>;

export interface FitResult<S> {
  /** The final state, owned by the caller. */
  readonly state: TrainState<S>;
  readonly history: readonly EpochMetrics[];
}

type Cursor = { epoch: number; index: number };

const iterate = (s: Iterable<BatchItem> | AsyncIterable<BatchItem>): Iterator<BatchItem> | AsyncIterator<BatchItem> =>
  Symbol.asyncIterator in s ? (s as AsyncIterable<BatchItem>)[Symbol.asyncIterator]() : (s as Iterable<BatchItem>)[Symbol.iterator]();

/** Releases a batch item that will not be used (a thunk was never built: nothing to release). */
const discard = (item: BatchItem): void => {
  if (typeof item !== 'function') item.dispose?.();
};

/** The batch of an item (building a thunk). */
const build = (item: BatchItem): TrainBatch => (typeof item === 'function' ? item() : item);

/** The batches of a source, built (for `evaluate`). */
async function* built(items: Iterable<BatchItem> | AsyncIterable<BatchItem>): AsyncGenerator<TrainBatch> {
  for await (const item of items) yield build(item);
}

/**
 * Cycles a batch source across its epochs from a cursor: next() always returns a batch item and
 * the cursor of the batch after it (items skipped to reach the cursor are discarded unbuilt).
 */
const cycle = (source: BatchSource, start: Cursor = { epoch: 0, index: 0 }) => {
  let epoch = start.epoch;
  let index = 0;
  let skip = start.index;
  let it: Iterator<BatchItem> | AsyncIterator<BatchItem> | undefined;
  return async (): Promise<{ item: BatchItem; cursor: Cursor }> => {
    let emptyEpochs = 0;
    for (;;) {
      if (it === undefined) {
        it = iterate(source(epoch));
        index = 0;
      }
      const r = await it.next();
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
        discard(r.value);
        continue;
      }
      return { item: r.value, cursor: { epoch, index } };
    }
  };
};

/**
 * `fit` with a default checkpoint writer (the Node entry passes an atomic file write; the
 * browser entry none, so a checkpoint there needs `checkpoint.write`).
 */
export const fitWith = (defaultWrite: CheckpointWriter | undefined) => async <S>(options: FitOptions<S>): Promise<FitResult<S>> => {
  const { model, optimizer, epochs } = options;
  const write = options.checkpoint?.write ?? defaultWrite;
  if (options.checkpoint !== undefined && write === undefined) {
    throw new Error(
      'fit: checkpoint.write is required here (there are no files in a browser): pass write(name, bytes), ' +
        'e.g. one that stores the bytes in IndexedDB; in Node the default writes files atomically',
    );
  }
  const saveCheckpoint = async (file: string, state: TrainState<unknown>): Promise<void> => {
    await write!(file, encodeCheckpoint(state));
  };
  if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`fit: epochs must be an integer ≥ 0, got ${epochs}`);
  const every = options.checkpoint?.every ?? 1;
  if (options.checkpoint !== undefined && (!Number.isInteger(every) || every < 1)) {
    throw new Error(`fit: checkpoint.every must be an integer ≥ 1, got ${every}`);
  }
  const everySteps = options.checkpoint?.everySteps;
  if (everySteps !== undefined && (!Number.isInteger(everySteps) || everySteps < 1)) {
    throw new Error(`fit: checkpoint.everySteps must be an integer ≥ 1, got ${everySteps}`);
  }
  const seed = options.seed ?? 0;
  const step = makeTrainStep({
    model,
    optimizer,
    seed,
    ...(options.loss ? { loss: options.loss } : {}),
    ...(options.valLoss ? { valLoss: options.valLoss } : {}),
    ...(options.sampleLoss ? { sampleLoss: options.sampleLoss } : {}),
    ...(options.microBatches !== undefined ? { microBatches: options.microBatches } : {}),
  });
  let state: TrainState<S> = options.resume ?? initTrainState(model, optimizer, seed);
  const nextVal = options.validation !== undefined ? cycle(options.validation, state.valCursor) : undefined;
  const history: EpochMetrics[] = [];
  const cb = options.callbacks;
  let stop = false;
  try {
    while (state.epoch < epochs && !stop) {
      const t0 = Date.now();
      let lossSum = 0;
      let accSum = 0;
      let n = 0;
      let skip = state.batchInEpoch ?? 0;
      await cb?.onEpochStart?.(state.epoch, skip);
      for await (const item of options.train(state.epoch)) {
        if (skip > 0) {
          skip -= 1;
          discard(item);
          continue;
        }
        const v = nextVal !== undefined ? await nextVal() : undefined;
        let batch: TrainBatch | undefined;
        try {
          batch = build(item);
          const r = step(state, batch, v?.item);
          state = { ...r.state, batchInEpoch: (state.batchInEpoch ?? 0) + 1, ...(v !== undefined ? { valCursor: v.cursor } : {}) };
          lossSum += r.metrics.loss;
          accSum += r.metrics.accuracy;
          n += 1;
          if ((await cb?.onStep?.(r.metrics, state)) === 'stop') stop = true;
          if (everySteps !== undefined && state.step % everySteps === 0) await saveCheckpoint(options.checkpoint!.file, state);
        } finally {
          batch?.dispose?.();
          if (v !== undefined && typeof v.item !== 'function') v.item.dispose?.();
        }
        if (stop) break;
      }
      state = { ...state, epoch: state.epoch + 1, batchInEpoch: 0 };
      const evaluation =
        options.evaluation !== undefined
          ? await evaluate(model, state.params, state.modelState, built(options.evaluation(state.epoch - 1)), options.loss)
          : undefined;
      let evaluations: Record<string, EvalMetrics> | undefined;
      for (const [name, src] of Object.entries(options.evaluations ?? {})) {
        (evaluations ??= {})[name] = await evaluate(model, state.params, state.modelState, built(src(state.epoch - 1)), options.loss);
      }
      const rho = optimizer.metrics?.(state.optState)?.rho;
      const m0: EpochMetrics = {
        epoch: state.epoch - 1,
        step: state.step,
        trainLoss: n > 0 ? lossSum / n : NaN,
        trainAccuracy: n > 0 ? accSum / n : NaN,
        ...(evaluation !== undefined ? { evaluation } : {}),
        ...(evaluations !== undefined ? { evaluations } : {}),
        ...(rho !== undefined ? { rho } : {}),
        seconds: (Date.now() - t0) / 1000,
      };
      let m = m0;
      if (options.best !== undefined) {
        const score = options.best(m0);
        const improved = state.best === undefined || score > state.best;
        if (improved) state = { ...state, best: score };
        m = { ...m0, improved };
      }
      history.push(m);
      if ((await cb?.onEpoch?.(m, state)) === 'stop') stop = true;
      if (options.checkpoint !== undefined && (state.epoch % every === 0 || state.epoch >= epochs || stop)) {
        await saveCheckpoint(options.checkpoint.file, state);
      }
      if (options.checkpoint?.bestFile !== undefined && m.improved === true) await saveCheckpoint(options.checkpoint.bestFile, state);
    }
  } catch (e) {
    disposeTrainState(state);
    throw e;
  }
  return { state, history };
};

/** Disposes every tensor of a run state. */
export function disposeTrainState(state: TrainState<unknown>): void {
  T.dispose(state.params);
  T.dispose(state.modelState);
  T.disposeState(state.optState);
}
