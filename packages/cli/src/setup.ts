/**
 * What a run is made of, from its options: the backend (@lets/runtime), the dataset with its
 * validation split, label noise and subsets (@lets/data), and the model (@lets/models).
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import * as data from '@lets/data';
import type { Dataset, DatasetEntry, DatasetName, DatasetSpec, Preparation } from '@lets/data';
import { createModel, modelRegistry, type Model, type ModelEntry, type ModelName } from '@lets/models';
import { initRuntime } from '@lets/runtime';
import type { BackendName } from '@lets/runtime';
import type { TrainOptions } from './options';

/**
 * Sets the backend. 'auto' is @lets/runtime's choice: LETS_BACKEND if set, else the fastest
 * backend that starts (tensorflow, webgpu, wasm with the runtime's kernel patches, cpu).
 * Returns the backend actually in use.
 */
export async function setupBackend(name: string): Promise<string> {
  return (await initRuntime({ backend: name as BackendName | 'auto' })).backend;
}

/**
 * The command's own options of a dataset, over @lets/data's spec for it: blobs are 4 overlapping
 * classes in 16 dimensions (small and fast, not quite separable).
 */
/** The datasets whose examples are token sequences (`--seq-len` applies to them). */
const TEXT_DATASETS: readonly DatasetName[] = ['spam', 'text'];

const DATASET_OPTIONS: Readonly<Partial<Record<DatasetName, object>>> = {
  blobs: { numClasses: 4, dim: 16, trainPerClass: 500, testPerClass: 200, separation: 1.2, std: 1 },
};

/** The spec of the run's dataset, from @lets/data's registry: its location and the seed. */
function specOf(o: TrainOptions): E.Either<string, DatasetSpec> {
  const entry: DatasetEntry | undefined = Object.prototype.hasOwnProperty.call(data.DATASETS, o.dataset) ? data.DATASETS[o.dataset as DatasetName] : undefined;
  if (entry?.spec === undefined) return E.left(`--dataset ${o.dataset}: @lets/data has no dataset by that name that a directory or a seed is enough to read`);
  const spec = entry.spec({ ...(o.dataDir !== undefined ? { dir: o.dataDir } : {}), seed: o.seed });
  const seqLen = o.seqLen ?? 0;
  if (seqLen > 0 && !TEXT_DATASETS.includes(spec.name)) return E.left(`--seq-len ${seqLen}: --dataset ${o.dataset} is not a text dataset (expected one of ${TEXT_DATASETS.join(', ')})`);
  return E.right({ ...spec, ...DATASET_OPTIONS[spec.name], ...(seqLen > 0 ? { seqLen } : {}) } as DatasetSpec);
}

/**
 * Loads the dataset and prepares it: subset (`train-size`, split evenly over the classes) →
 * label noise on the whole training pool → validation hold-out (stratified, seeded), or with
 * `--val-labels clean` hold-out first and noise on the training part only; then
 * `test-size` keeps the first examples of the test split.
 */
export function loadData(o: TrainOptions): E.Either<string, Dataset> {
  return pipe(
    specOf(o),
    E.chain((spec) => pipe(data.readDataset(spec), E.mapLeft((e) => `--dataset ${o.dataset}: ${e.message}`))),
    E.chain((ds) => {
      const prep: Preparation = {
        ...(o.trainSize > 0 ? { subset: { perClass: Math.max(1, Math.floor(o.trainSize / ds.numClasses)), seed: o.seed } } : {}),
        validation: { fraction: o.valFraction, seed: o.seed, stratified: true },
        ...(o.labelNoise > 0 ? { noise: { kind: o.noiseType, rate: o.labelNoise, seed: o.seed } } : {}),
        validationLabels: o.valLabels,
      };
      return pipe(
        data.prepare(prep)(ds),
        E.mapLeft((e) => `--dataset ${o.dataset}: ${e.message}`),
      );
    }),
    E.map((ds) =>
      o.testSize > 0 && o.testSize < ds.test.count
        ? { ...ds, test: data.take(ds.test, Int32Array.from({ length: o.testSize }, (_, i) => i)) }
        : ds,
    ),
  );
}

/**
 * The model for a dataset: its input size (by the kind of input @lets/models's registry says
 * the model takes) and number of classes come from the data.
 */
export function buildModel(o: TrainOptions, ds: Dataset): E.Either<string, Model> {
  const entry: ModelEntry | undefined = Object.prototype.hasOwnProperty.call(modelRegistry, o.model) ? modelRegistry[o.model as ModelName] : undefined;
  const size = ds.inputShape.reduce((a, b) => a * b, 1);
  const options: Record<string, unknown> =
    entry?.input === 'flat'
      ? { inputDim: size, numClasses: ds.numClasses, ...(ds.kind === 'features' ? { hidden: [64, 64] } : {}) }
      : entry?.input === 'tokens'
        ? { numClasses: ds.numClasses, seqLen: ds.inputShape[0], vocabSize: Math.max(2, ds.vocabulary?.length ?? 10000), padId: 0 }
        : { inputShape: ds.inputShape, numClasses: ds.numClasses };
  return pipe(
    createModel(o.model, options),
    E.mapLeft((e) => `--model ${o.model} on --dataset ${o.dataset}: ${e.message}`),
  );
}
