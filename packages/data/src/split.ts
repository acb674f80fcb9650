/**
 * Validation hold-out: train / validation / test, where validation is a seeded random
 * fraction of the training examples (the test split is untouched).
 *
 * Random: the first round(f·n) entries of a seeded permutation of 0..n−1 go to validation.
 * Stratified: the same within each class (round(f·n_c) per class), so class proportions are
 * kept. Both orders are ascending index order within each part, so the result does not
 * depend on the permutation beyond membership.
 */
import * as E from 'fp-ts/Either';
import { Dataset, Examples, take } from './dataset';
import { random } from '@lets/runtime';
import { fail, Result } from './result';

export interface HoldOutOptions {
  /** Fraction of training examples held out, in (0, 1). */
  readonly fraction: number;
  readonly seed?: number;
  /** Hold out round(fraction·n_c) of each class c (default false). */
  readonly stratified?: boolean;
}

/** Indices (ascending) of the held-out and kept examples. */
export function holdOutIndices(labels: Int32Array, options: HoldOutOptions): [Int32Array, Int32Array] {
  const n = labels.length;
  const rng = random.rng(random.fold(random.key(options.seed ?? 0), 0x766c64));
  const held = new Uint8Array(n);
  if (options.stratified) {
    const byClass = new Map<number, number[]>();
    labels.forEach((l, i) => {
      const a = byClass.get(l);
      if (a) a.push(i);
      else byClass.set(l, [i]);
    });
    for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
      const members = byClass.get(c)!;
      const p = rng.permutation(members.length);
      const k = Math.round(options.fraction * members.length);
      for (let i = 0; i < k; i++) held[members[p[i]!]!] = 1;
    }
  } else {
    const p = rng.permutation(n);
    const k = Math.round(options.fraction * n);
    for (let i = 0; i < k; i++) held[p[i]!] = 1;
  }
  const h: number[] = [];
  const r: number[] = [];
  for (let i = 0; i < n; i++) (held[i] ? h : r).push(i);
  return [Int32Array.from(h), Int32Array.from(r)];
}

/** Splits examples into [validation, train]. */
export function splitExamples(ex: Examples, options: HoldOutOptions): Result<[Examples, Examples]> {
  if (!(options.fraction > 0 && options.fraction < 1)) {
    return fail('holdOut', `validation fraction ${options.fraction}, expected a number in (0, 1)`);
  }
  const [h, r] = holdOutIndices(ex.y, options);
  if (h.length === 0 || r.length === 0) {
    return fail('holdOut', `fraction ${options.fraction} of ${ex.count} examples leaves an empty part, expected both parts non-empty`);
  }
  return E.right([take(ex, h), take(ex, r)]);
}

/**
 * Holds out a validation split from `train` (data-last: `pipe(ds, holdOut({fraction: 0.1}))`).
 * Refuses a dataset that already has a validation split.
 */
export const holdOut =
  (options: HoldOutOptions) =>
  (ds: Dataset): Result<Dataset> => {
    if (ds.validation) return fail(ds.name, 'already has a validation split, expected a dataset without one');
    return E.map(([validation, train]: [Examples, Examples]): Dataset => ({ ...ds, train, validation }))(
      splitExamples(ds.train, options),
    );
  };
