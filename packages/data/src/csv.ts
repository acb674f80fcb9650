/**
 * CSV / tabular data: one example a row, numeric feature columns and one label column.
 *
 * Fields follow RFC 4180 (double-quoted fields may hold the delimiter; `""` is a literal
 * quote; quoted fields may not span lines here). Blank lines are skipped. Every row must
 * have as many fields as the first (header) row. Labels are class indices when every label
 * is a non-negative integer, otherwise class names mapped to indices in sorted order.
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { readFileSync } from 'node:fs';
import { Dataset } from './dataset';
import { random } from '@lets/runtime';
import { classIndex } from './labels';
import { attempt, fail, Result } from './result';

export interface CsvOptions {
  /** Field separator (default ','). */
  readonly delimiter?: string;
  /** Whether the first row names the columns (default true). */
  readonly header?: boolean;
  /** Label column by header name or 0-based index (default: the last column). */
  readonly labelColumn?: string | number;
}

/** A parsed table with its labels still as strings (so splits can share one class map). */
export interface CsvTable {
  readonly source: string;
  readonly featureNames: readonly string[];
  /** rows × features, row-major. */
  readonly x: Float32Array;
  readonly labels: readonly string[];
}

/** Splits one CSV line into fields (RFC 4180 quoting), or a message on a stray quote. */
export function splitCsvLine(line: string, delimiter: string): E.Either<string, string[]> {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return E.left('unterminated quoted field');
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
      if (i === line.length) return E.right(out);
      if (!line.startsWith(delimiter, i)) return E.left(`unexpected character after quoted field at column ${i + 1}`);
      i += delimiter.length;
    } else {
      const d = line.indexOf(delimiter, i);
      if (d < 0) {
        out.push(line.slice(i));
        return E.right(out);
      }
      out.push(line.slice(i, d));
      i = d + delimiter.length;
    }
  }
}

/** Parses CSV text; `source` names it in errors (file:line). */
export function parseCsv(text: string, source: string, options: CsvOptions = {}): Result<CsvTable> {
  const delimiter = options.delimiter ?? ',';
  const header = options.header ?? true;
  const lines = text.split(/\r?\n/);
  const rows: { line: number; fields: string[] }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    const f = splitCsvLine(l, delimiter);
    if (E.isLeft(f)) return fail(`${source}:${i + 1}`, `${f.left}, expected RFC 4180 fields`);
    rows.push({ line: i + 1, fields: f.right });
  }
  if (rows.length === 0) return fail(source, 'no rows, expected a header and data rows');
  const width = rows[0]!.fields.length;
  const names = header ? rows[0]!.fields.map((s) => s.trim()) : rows[0]!.fields.map((_, k) => `c${k}`);
  const data = header ? rows.slice(1) : rows;
  if (width < 2) return fail(source, `${width} column, expected at least one feature and a label column`);
  let labelIndex: number;
  const lc = options.labelColumn ?? width - 1;
  if (typeof lc === 'number') {
    if (!(Number.isInteger(lc) && lc >= 0 && lc < width)) return fail(source, `label column ${lc}, expected an index in [0, ${width - 1}]`);
    labelIndex = lc;
  } else {
    labelIndex = names.indexOf(lc);
    if (!header || labelIndex < 0) return fail(source, `no column named '${lc}', expected one of ${names.join(', ')}`);
  }
  const d = width - 1;
  const x = new Float32Array(data.length * d);
  const labels: string[] = [];
  for (let r = 0; r < data.length; r++) {
    const { line, fields } = data[r]!;
    if (fields.length !== width) {
      return fail(`${source}:${line}`, `row has ${fields.length} fields, expected ${width}${header ? ' (as in the header)' : ' (as in the first row)'}`);
    }
    let k = 0;
    for (let c = 0; c < width; c++) {
      const s = fields[c]!.trim();
      if (c === labelIndex) {
        labels.push(s);
        continue;
      }
      const v = s === '' ? NaN : Number(s);
      if (!Number.isFinite(v)) {
        return fail(`${source}:${line}`, `column '${names[c]}' is '${s}', expected a finite number`);
      }
      x[r * d + k++] = v;
    }
  }
  return E.right({ source, featureNames: names.filter((_, c) => c !== labelIndex), x, labels });
}

/** Reads and parses a CSV file. */
export function readCsv(path: string, options: CsvOptions = {}): Result<CsvTable> {
  return E.chain((t: string) => parseCsv(t, path, options))(attempt(path, () => readFileSync(path, 'utf8')));
}

export interface CsvDatasetOptions extends CsvOptions {
  /** Training CSV path. */
  readonly train: string;
  /** Test CSV path; when omitted, `testFraction` of the training rows is held out. */
  readonly test?: string;
  /** Fraction of rows held out as test when no test file is given (default 0.2). */
  readonly testFraction?: number;
  /** Seed of the test hold-out (default 0). */
  readonly seed?: number;
  readonly name?: string;
}

/** A features dataset from one or two CSV files. */
export function readCsvDataset(options: CsvDatasetOptions): Result<Dataset> {
  const frac = options.testFraction ?? 0.2;
  if (options.test === undefined && !(frac > 0 && frac < 1)) {
    return fail(options.train, `testFraction ${frac}, expected a number in (0, 1)`);
  }
  return pipe(
    E.Do,
    E.bind('tr', () => readCsv(options.train, options)),
    E.bind('te', () => (options.test === undefined ? E.right(undefined) : readCsv(options.test, options))),
    E.chain(({ tr, te }) => {
      if (te && te.featureNames.length !== tr.featureNames.length) {
        return fail<Dataset>(te.source, `${te.featureNames.length} feature columns, expected ${tr.featureNames.length} as in ${tr.source}`);
      }
      const cm = classIndex(te ? [...tr.labels, ...te.labels] : tr.labels);
      const d = tr.featureNames.length;
      const toY = (t: CsvTable) => Int32Array.from(t.labels, cm.index);
      let train = { x: tr.x, y: toY(tr) };
      let test: { x: Float32Array; y: Int32Array };
      if (te) test = { x: te.x, y: toY(te) };
      else {
        const n = train.y.length;
        const perm = random.permutation(random.fold(random.key(options.seed ?? 0), 0x637376), n);
        const nTest = Math.round(frac * n);
        const pick = (idx: Int32Array) => {
          const x = new Float32Array(idx.length * d);
          const y = new Int32Array(idx.length);
          idx.forEach((j, i) => {
            x.set(train.x.subarray(j * d, (j + 1) * d), i * d);
            y[i] = train.y[j]!;
          });
          return { x, y };
        };
        test = pick(perm.subarray(0, nTest));
        train = pick(perm.subarray(nTest));
      }
      return E.right<never, Dataset>({
        name: options.name ?? 'csv',
        kind: 'features',
        train: { ...train, cleanY: train.y, count: train.y.length },
        test: { ...test, cleanY: test.y, count: test.y.length },
        numClasses: cm.names.length,
        inputShape: [d],
        classNames: cm.names,
      });
    }),
  );
}
