/** Validation of class labels read from files. */
import * as E from 'fp-ts/Either';
import { fail, Result } from './result';

/**
 * Labels as Int32Array, refusing any outside [0, numClasses): names the file, the first
 * offending record and the allowed range.
 */
export function checkLabels(labels: ArrayLike<number>, numClasses: number, source: string): Result<Int32Array> {
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!(Number.isInteger(l) && l >= 0 && l < numClasses)) {
      return fail(source, `label out of range at record ${i}: ${l}, expected an integer in [0, ${numClasses - 1}]`);
    }
    out[i] = l;
  }
  return E.right(out);
}

/** Maps string labels to class indices. */
export interface ClassIndex {
  readonly names: readonly string[];
  readonly index: (label: string) => number;
}

/**
 * One class map for labels gathered from several files: the integers themselves when every
 * label is a non-negative integer (numClasses = max + 1), else the distinct names in sorted
 * (code-unit) order.
 */
export function classIndex(labels: Iterable<string>): ClassIndex {
  const all = [...labels];
  if (all.every((s) => /^\d+$/.test(s))) {
    const max = all.reduce((m, s) => Math.max(m, Number(s)), 0);
    return { names: Array.from({ length: max + 1 }, (_, k) => String(k)), index: Number };
  }
  const names = [...new Set(all)].sort();
  const m = new Map(names.map((n, k) => [n, k]));
  return { names, index: (s) => m.get(s)! };
}
