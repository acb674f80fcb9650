/**
 * Subsetting by count per class: a seeded random choice of exactly `perClass` examples of
 * each class (kept in ascending index order), for small balanced training sets.
 */
import * as E from 'fp-ts/Either';
import { classCounts, Dataset, Examples, take } from './dataset';
import { random } from '@lets/runtime';
import { fail, Result } from './result';

export interface SubsetOptions {
  readonly perClass: number;
  readonly seed?: number;
}

/** `perClass` examples of each of the `numClasses` classes; refuses when a class has fewer. */
export function subsetPerClass(ex: Examples, numClasses: number, options: SubsetOptions): Result<Examples> {
  const k = options.perClass;
  if (!(Number.isInteger(k) && k >= 1)) return fail('subset', `perClass ${k}, expected an integer ≥ 1`);
  const counts = classCounts(ex.cleanY, numClasses);
  const short = counts.findIndex((c) => c < k);
  if (short >= 0) return fail('subset', `class ${short} has ${counts[short]} examples, expected at least ${k}`);
  const perm = random.permutation(random.fold(random.key(options.seed ?? 0), 0x737562), ex.count);
  const taken = new Array<number>(numClasses).fill(0);
  const keep = new Uint8Array(ex.count);
  // Walking a random permutation and keeping the first k of each class is a uniform
  // random k-subset of each class.
  for (const i of perm) {
    const c = ex.cleanY[i]!;
    if (taken[c]! < k) {
      taken[c]!++;
      keep[i] = 1;
    }
  }
  const idx: number[] = [];
  keep.forEach((v, i) => v && idx.push(i));
  return E.right(take(ex, idx));
}

/** Subsets the training split (data-last). */
export const subsetTrain =
  (options: SubsetOptions) =>
  (ds: Dataset): Result<Dataset> =>
    E.map((train: Examples): Dataset => ({ ...ds, train }))(subsetPerClass(ds.train, ds.numClasses, options));
