/**
 * What a run is made of, from its options: the backend (@lets/runtime), the dataset with its
 * validation split, label noise and subsets (@lets/data), and the model (@lets/models).
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import * as data from '@lets/data';
import type { Dataset, DatasetSpec, Preparation } from '@lets/data';
import { createModel, Model } from '@lets/models';
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

function specOf(o: TrainOptions): DatasetSpec {
  const dir = o.dataDir === undefined ? {} : { dir: o.dataDir };
  switch (o.dataset) {
    case 'mnist':
      return { name: 'mnist', ...dir };
    case 'fashion-mnist':
    case 'kmnist':
    case 'cifar10':
    case 'cifar100':
      return { name: o.dataset, dir: o.dataDir ?? '' } as DatasetSpec;
    case 'spam':
      return { name: 'spam', ...dir } as DatasetSpec;
    case 'blobs':
      // 4 overlapping classes in 16 dimensions: small and fast, not quite separable.
      return { name: 'blobs', numClasses: 4, dim: 16, trainPerClass: 500, testPerClass: 200, separation: 1.2, std: 1, seed: o.seed };
    case 'spirals':
      return { name: 'spirals', seed: o.seed } as DatasetSpec;
    case 'teacher':
      return { name: 'teacher', seed: o.seed } as DatasetSpec;
    default:
      return { name: o.dataset } as DatasetSpec;
  }
}

/**
 * Loads the dataset and prepares it: subset (`train-size`, split evenly over the classes) →
 * label noise on the whole training pool → validation hold-out (stratified, seeded), or with
 * `--val-labels clean` hold-out first and noise on the training part only; then
 * `test-size` keeps the first examples of the test split.
 */
export function loadData(o: TrainOptions): E.Either<string, Dataset> {
  return pipe(
    data.readDataset(specOf(o)),
    E.mapLeft((e) => `--dataset ${o.dataset}: ${e.message}`),
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

/** The model for a dataset: its input shape and number of classes come from the data. */
export function buildModel(o: TrainOptions, ds: Dataset): E.Either<string, Model> {
  const size = ds.inputShape.reduce((a, b) => a * b, 1);
  const options: Record<string, unknown> =
    o.model === 'mlp'
      ? { inputDim: size, numClasses: ds.numClasses, ...(ds.kind === 'features' ? { hidden: [64, 64] } : {}) }
      : o.model === 'transformer'
        ? { numClasses: ds.numClasses, seqLen: ds.inputShape[0], vocabSize: Math.max(2, ds.vocabulary?.length ?? 10000), padId: 0 }
        : { inputShape: ds.inputShape, numClasses: ds.numClasses };
  return pipe(
    createModel(o.model, options),
    E.mapLeft((e) => `--model ${o.model} on --dataset ${o.dataset}: ${e.message}`),
  );
}
