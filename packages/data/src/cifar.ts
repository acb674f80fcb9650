/**
 * CIFAR-10 and CIFAR-100 binary batches (Krizhevsky, "Learning Multiple Layers of Features
 * from Tiny Images", 2009; format at https://www.cs.toronto.edu/~kriz/cifar.html).
 *
 * CIFAR-10 record: 1 label byte, then 3072 pixel bytes: the 1024 red values of the 32×32
 * image in row-major order, then 1024 green, then 1024 blue (CHW). Files
 * `data_batch_1.bin` … `data_batch_5.bin` (10,000 records each) and `test_batch.bin`.
 * CIFAR-100 record: 1 coarse-label byte (20 superclasses), 1 fine-label byte (100 classes),
 * then the same 3072 pixel bytes. Files `train.bin` (50,000) and `test.bin` (10,000).
 *
 * Pixels are returned HWC (NHWC over the batch), the layout tfjs convolutions use:
 * x[(i·32 + r)·32·3 + c·3 + ch] = record_i[labelBytes + ch·1024 + r·32 + c].
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import * as A from 'fp-ts/Array';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { concat, Dataset, Examples } from './dataset';
import { readBytes } from './idx';
import { checkLabels } from './labels';
import { attempt, fail, Result } from './result';

export type CifarVariant = 'cifar10' | 'cifar100';

export interface CifarOptions {
  /** CIFAR-100 only: train on the 100 fine labels (default) or the 20 coarse ones. */
  readonly labels?: 'fine' | 'coarse';
}

const PIXELS = 32 * 32 * 3;

export const CIFAR10_CLASS_NAMES = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
] as const;

/** Record size in bytes: 3073 (CIFAR-10) or 3074 (CIFAR-100). */
export const cifarRecordSize = (variant: CifarVariant): number => (variant === 'cifar10' ? 1 : 2) + PIXELS;

/** Parses one binary batch; refuses a size that is not a whole number of records, and bad labels. */
export function parseCifarBatch(
  bytes: Uint8Array,
  source: string,
  variant: CifarVariant,
  options: CifarOptions = {},
): Result<Examples> {
  const rec = cifarRecordSize(variant);
  const labelBytes = rec - PIXELS;
  if (bytes.length === 0 || bytes.length % rec !== 0) {
    return fail(
      source,
      `wrong CIFAR record size: file has ${bytes.length} bytes, expected a positive multiple of the ${rec}-byte ` +
        `${variant === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} record (${labelBytes} label byte${labelBytes > 1 ? 's' : ''} + ${PIXELS} pixels)`,
    );
  }
  const n = bytes.length / rec;
  const coarse = variant === 'cifar100' && options.labels === 'coarse';
  const labelOffset = variant === 'cifar10' || coarse ? 0 : 1;
  const numClasses = variant === 'cifar10' ? 10 : coarse ? 20 : 100;
  const raw = new Uint8Array(n);
  const x = new Uint8Array(n * PIXELS);
  for (let i = 0; i < n; i++) {
    const base = i * rec;
    raw[i] = bytes[base + labelOffset]!;
    const px = base + labelBytes;
    const out = i * PIXELS;
    for (let p = 0; p < 1024; p++) {
      const o = out + p * 3;
      x[o] = bytes[px + p]!;
      x[o + 1] = bytes[px + 1024 + p]!;
      x[o + 2] = bytes[px + 2048 + p]!;
    }
  }
  return E.map((y: Int32Array): Examples => ({ x, y, cleanY: y, count: n }))(checkLabels(raw, numClasses, source));
}

/** Reads and parses one binary batch file. */
export function readCifarBatch(path: string, variant: CifarVariant, options: CifarOptions = {}): Result<Examples> {
  return E.chain((b: Uint8Array) => parseCifarBatch(b, path, variant, options))(attempt(path, () => readBytes(path)));
}

function readNames(path: string): readonly string[] | undefined {
  if (!existsSync(path)) return undefined;
  const names = readFileSync(path, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  return names.length > 0 ? names : undefined;
}

/** `dir` itself when it holds `probe`, else `dir/sub` when that does. */
function locate(dir: string, sub: string, probe: string): Result<string> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return fail(dir, 'not a directory, expected a CIFAR binary directory');
  if (existsSync(join(dir, probe))) return E.right(dir);
  if (existsSync(join(dir, sub, probe))) return E.right(join(dir, sub));
  return fail(dir, `no ${probe} found here or in ${sub}/, expected the CIFAR binary version`);
}

/** Explicit batch files: the training batches (concatenated in order) and the test batch(es). */
export interface CifarFiles {
  readonly train: readonly string[];
  readonly test: readonly string[];
}

/** A CIFAR dataset from explicit batch files. */
export function readCifarFiles(variant: CifarVariant, files: CifarFiles, options: CifarOptions = {}): Result<Dataset> {
  const coarse = variant === 'cifar100' && options.labels === 'coarse';
  if (files.train.length === 0 || files.test.length === 0) {
    return fail(variant, 'no training or no test batch files given, expected at least one of each');
  }
  const readAll = (paths: readonly string[]) =>
    E.map((parts: Examples[]) => parts.slice(1).reduce(concat, parts[0]!))(
      A.traverse(E.Applicative)((p: string) => readCifarBatch(p, variant, options))([...paths]),
    );
  return pipe(
    E.Do,
    E.bind('train', () => readAll(files.train)),
    E.bind('test', () => readAll(files.test)),
    E.map(({ train, test }): Dataset => ({
      name: variant,
      kind: 'image',
      train,
      test,
      numClasses: variant === 'cifar10' ? 10 : coarse ? 20 : 100,
      inputShape: [32, 32, 3],
      ...(variant === 'cifar10' ? { classNames: CIFAR10_CLASS_NAMES } : {}),
    })),
  );
}

/**
 * CIFAR-10 from `dir` (the `cifar-10-batches-bin` directory or its parent); the five
 * training batches are concatenated in order.
 */
export function readCifar10(dir: string): Result<Dataset> {
  return pipe(
    locate(dir, 'cifar-10-batches-bin', 'test_batch.bin'),
    E.chain((d) =>
      E.map((ds: Dataset): Dataset => ({ ...ds, classNames: readNames(join(d, 'batches.meta.txt')) ?? CIFAR10_CLASS_NAMES }))(
        readCifarFiles('cifar10', {
          train: [1, 2, 3, 4, 5].map((k) => join(d, `data_batch_${k}.bin`)),
          test: [join(d, 'test_batch.bin')],
        }),
      ),
    ),
  );
}

/** CIFAR-100 from `dir` (the `cifar-100-binary` directory or its parent). */
export function readCifar100(dir: string, options: CifarOptions = {}): Result<Dataset> {
  const coarse = options.labels === 'coarse';
  return pipe(
    locate(dir, 'cifar-100-binary', 'test.bin'),
    E.chain((d) =>
      E.map((ds: Dataset): Dataset => {
        const names = readNames(join(d, coarse ? 'coarse_label_names.txt' : 'fine_label_names.txt'));
        return names ? { ...ds, classNames: names } : ds;
      })(readCifarFiles('cifar100', { train: [join(d, 'train.bin')], test: [join(d, 'test.bin')] }, options)),
    ),
  );
}
