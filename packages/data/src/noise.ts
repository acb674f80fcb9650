/**
 * Label noise on the training labels only; the clean labels are kept in `cleanY`.
 *
 * Each training example is corrupted independently with probability r (the rate):
 * - `symmetric`: the label becomes one of the other K−1 classes, uniformly. Every
 *   corruption changes the label, so the changed fraction is Binomial(n, r)/n, mean r,
 *   standard deviation √(r(1−r)/n).
 *   (The "symmetric" noise of e.g. Zhang et al., ICLR 2017 draws from all K classes, which
 *   changes only r·(K−1)/K; here r is the fraction actually changed.)
 * - `pairflip`: y → (y + 1) mod K (Han et al., "Co-teaching", NeurIPS 2018).
 * - `map`: y → map[y], a class-dependent flip (e.g. `CIFAR10_ASYMMETRIC_MAP` of Patrini et
 *   al., CVPR 2017: truck→automobile, bird→airplane, deer→horse, cat↔dog); classes mapped
 *   to themselves never change.
 * - `asymmetric`: `map` when one is given, otherwise `pairflip`.
 * Only the `train` split is touched. `prepare` adds the noise before the validation hold-out by
 * default (validation labels as noisy as training labels), or after it with
 * `validationLabels: 'clean'`; test labels are never touched.
 */
import * as E from 'fp-ts/Either';
import { Dataset, Examples } from './dataset';
import { random } from '@lets/runtime';
import { fail, Result } from './result';

export type NoiseKind = 'symmetric' | 'pairflip' | 'map' | 'asymmetric';

export interface NoiseOptions {
  readonly kind: NoiseKind;
  /** Probability in [0, 1] that a training label is corrupted. */
  readonly rate: number;
  readonly seed?: number;
  /** For kind 'map': the class each class flips to. */
  readonly map?: readonly number[];
}

/** Patrini et al. (2017) CIFAR-10 asymmetric noise: 9→1, 2→0, 4→7, 3↔5. */
export const CIFAR10_ASYMMETRIC_MAP: readonly number[] = [0, 1, 0, 5, 7, 3, 6, 7, 8, 1];

/** Noisy copies of `labels` (the input is not modified). */
export function noisyLabels(labels: Int32Array, numClasses: number, options: NoiseOptions): Result<Int32Array> {
  const { rate } = options;
  const kind = options.kind === 'asymmetric' ? (options.map ? 'map' : 'pairflip') : options.kind;
  if (!(rate >= 0 && rate <= 1)) return fail('labelNoise', `rate ${rate}, expected a number in [0, 1]`);
  if (numClasses < 2) return fail('labelNoise', `${numClasses} classes, expected at least 2`);
  const map = options.map;
  if (kind === 'map') {
    if (!map || map.length !== numClasses || !map.every((m) => Number.isInteger(m) && m >= 0 && m < numClasses)) {
      return fail('labelNoise', `map ${JSON.stringify(map)}, expected ${numClasses} class indices in [0, ${numClasses - 1}]`);
    }
  } else if (kind !== 'symmetric' && kind !== 'pairflip') {
    return fail('labelNoise', `kind '${String(kind)}', expected 'symmetric', 'pairflip', 'asymmetric' or 'map'`);
  }
  const rng = random.rng(random.fold(random.key(options.seed ?? 0), 0x6e6f69));
  const out = new Int32Array(labels);
  for (let i = 0; i < out.length; i++) {
    // One uniform draw per example whatever happens, so the corrupted set for a given seed
    // does not depend on the kind.
    if (rng.nextFloat() >= rate) continue;
    const y = out[i]!;
    if (kind === 'symmetric') {
      const k = rng.nextInt(numClasses - 1);
      out[i] = k >= y ? k + 1 : k;
    } else if (kind === 'pairflip') out[i] = (y + 1) % numClasses;
    else out[i] = map![y]!;
  }
  return E.right(out);
}

/** Examples with noisy `y` and the original labels as `cleanY`. */
export function noisyExamples(ex: Examples, numClasses: number, options: NoiseOptions): Result<Examples> {
  return E.map((y: Int32Array): Examples => ({ ...ex, y, cleanY: ex.cleanY }))(noisyLabels(ex.y, numClasses, options));
}

/** Adds label noise to the training split (data-last). */
export const labelNoise =
  (options: NoiseOptions) =>
  (ds: Dataset): Result<Dataset> =>
    E.map((train: Examples): Dataset => ({ ...ds, train }))(noisyExamples(ds.train, ds.numClasses, options));

/** Fraction of examples whose training label differs from the clean one. */
export function noiseFraction(ex: Examples): number {
  let d = 0;
  for (let i = 0; i < ex.count; i++) if (ex.y[i] !== ex.cleanY[i]) d++;
  return ex.count === 0 ? 0 : d / ex.count;
}
