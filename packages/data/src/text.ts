/**
 * Plain-text classification files: one example a line, `label<TAB>text`, or `label text`
 * (the label is everything before the first whitespace; a fastText `__label__` prefix is
 * removed). Blank lines are skipped. Texts become fixed-length token-id sequences with a
 * vocabulary built from the training texts only (no test leakage).
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { readFileSync } from 'node:fs';
import { Dataset } from './dataset';
import { classIndex } from './labels';
import { random } from '@lets/runtime';
import { attempt, fail, Result } from './result';
import { tokenize } from './tokenizer';
import { buildVocabulary, encodeAll, VocabularyOptions } from './vocabulary';

/** Labelled raw texts. */
export interface LabelledTexts {
  readonly labels: readonly string[];
  readonly texts: readonly string[];
}

/** Parses a text-classification file's contents. */
export function parseTextClassification(content: string, source: string): Result<LabelledTexts> {
  const labels: string[] = [];
  const texts: string[] = [];
  const lines = content.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    const m = /^\s*(\S+?)(?:\t|\s+)(.*)$/.exec(l);
    if (!m) return fail(`${source}:${i + 1}`, `no text after the label, expected 'label<TAB>text' or 'label text'`);
    labels.push(m[1]!.replace(/^__label__/, ''));
    texts.push(m[2]!);
  }
  if (labels.length === 0) return fail(source, 'no examples, expected lines of "label<TAB>text"');
  return E.right({ labels, texts });
}

/** Reads a text-classification file. */
export function readTextClassification(path: string): Result<LabelledTexts> {
  return E.chain((c: string) => parseTextClassification(c, path))(attempt(path, () => readFileSync(path, 'utf8')));
}

export interface TextDatasetOptions extends VocabularyOptions {
  readonly name?: string;
  /** Sequence length: longer texts are truncated, shorter ones padded (default 128). */
  readonly seqLen?: number;
  /** Tokenizer (default `tokenize`). */
  readonly tokenizer?: (text: string) => string[];
  /** Fraction held out as test when no test texts are given (default 0.2). */
  readonly testFraction?: number;
  /** Seed of that hold-out (default 0). */
  readonly seed?: number;
  /** Fixed class names, in index order (otherwise inferred from the labels). */
  readonly classNames?: readonly string[];
}

/** Random split of labelled texts into (train, test), `fraction` going to test. */
export function splitTexts(t: LabelledTexts, fraction: number, seed: number): [LabelledTexts, LabelledTexts] {
  const perm = random.permutation(random.fold(random.key(seed), 0x747874), t.labels.length);
  const nTest = Math.round(fraction * t.labels.length);
  const pick = (idx: Int32Array): LabelledTexts => ({
    labels: Array.from(idx, (j) => t.labels[j]!),
    texts: Array.from(idx, (j) => t.texts[j]!),
  });
  return [pick(perm.subarray(nTest)), pick(perm.subarray(0, nTest))];
}

/** A `tokens` dataset from labelled texts; the vocabulary comes from `train` only. */
export function textDataset(train: LabelledTexts, test: LabelledTexts | undefined, options: TextDatasetOptions = {}): Result<Dataset> {
  const seqLen = options.seqLen ?? 128;
  const name = options.name ?? 'text';
  if (!(Number.isInteger(seqLen) && seqLen >= 1)) return fail(name, `seqLen ${seqLen}, expected an integer ≥ 1`);
  let tr = train;
  let te = test;
  if (te === undefined) {
    const f = options.testFraction ?? 0.2;
    if (!(f > 0 && f < 1)) return fail(name, `testFraction ${f}, expected a number in (0, 1)`);
    [tr, te] = splitTexts(train, f, options.seed ?? 0);
  }
  const tok = options.tokenizer ?? tokenize;
  const trTokens = tr.texts.map(tok);
  const teTokens = te.texts.map(tok);
  let cls = classIndex([...tr.labels, ...te.labels]);
  if (options.classNames) {
    const m = new Map(options.classNames.map((n, k) => [n, k]));
    const bad = [...tr.labels, ...te.labels].find((l) => !m.has(l));
    if (bad !== undefined) return fail(name, `label '${bad}' out of range, expected one of ${options.classNames.join(', ')}`);
    cls = { names: options.classNames, index: (s) => m.get(s)! };
  }
  const trL = tr;
  const teL = te;
  return pipe(
    buildVocabulary(trTokens, options),
    E.map((vocab): Dataset => {
      const ytr = Int32Array.from(trL.labels, cls.index);
      const yte = Int32Array.from(teL.labels, cls.index);
      return {
        name,
        kind: 'tokens',
        train: { x: encodeAll(trTokens, vocab, seqLen), y: ytr, cleanY: ytr, count: ytr.length },
        test: { x: encodeAll(teTokens, vocab, seqLen), y: yte, cleanY: yte, count: yte.length },
        numClasses: cls.names.length,
        inputShape: [seqLen],
        classNames: cls.names,
        vocabulary: vocab.tokens,
      };
    }),
  );
}

export interface TextFilesOptions extends TextDatasetOptions {
  readonly train: string;
  readonly test?: string;
}

/** A `tokens` dataset from one or two text-classification files. */
export function readTextDataset(options: TextFilesOptions): Result<Dataset> {
  return pipe(
    E.Do,
    E.bind('tr', () => readTextClassification(options.train)),
    E.bind('te', () => (options.test === undefined ? E.right(undefined) : readTextClassification(options.test))),
    E.chain(({ tr, te }) => textDataset(tr, te, options)),
  );
}
