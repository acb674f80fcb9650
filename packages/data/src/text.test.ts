import { tokenize } from './tokenizer';
import { buildVocabulary, encode, OOV_ID, PAD_ID } from './vocabulary';
import { parseTextClassification, readTextDataset } from './text';
import { leftMessage, right, tempDir, writeFile } from './test-util';

describe('tokenize', () => {
  it('lower-cases and keeps letter/digit runs (Unicode), inner apostrophes', () => {
    expect(tokenize("Don't PANIC: 42 Élan-vital, naïve!")).toEqual(["don't", 'panic', '42', 'élan', 'vital', 'naïve']);
    expect(tokenize('  ...  ')).toEqual([]);
  });
});

describe('vocabulary', () => {
  const docs = [['b', 'a', 'c', 'a'], ['c', 'a', 'd'], ['b', 'e']];
  // counts: a 3, b 2, c 2, d 1, e 1

  it('orders by count then token, after PAD and OOV', () => {
    const v = right(buildVocabulary(docs));
    expect(v.tokens).toEqual(['<pad>', '<unk>', 'a', 'b', 'c', 'd', 'e']);
    expect(v.ids.get('c')).toBe(4);
  });

  it('applies minCount and maxSize (PAD and OOV count towards maxSize)', () => {
    expect(right(buildVocabulary(docs, { minCount: 2 })).tokens).toEqual(['<pad>', '<unk>', 'a', 'b', 'c']);
    expect(right(buildVocabulary(docs, { maxSize: 4, padToken: 'P', oovToken: 'O' })).tokens).toEqual(['P', 'O', 'a', 'b']);
    expect(leftMessage(buildVocabulary(docs, { maxSize: 1 }))).toMatch(/maxSize 1, expected at least 2/);
  });

  it('encodes with OOV, pads at the end and truncates to the first tokens', () => {
    const v = right(buildVocabulary(docs, { minCount: 2 }));
    expect(Array.from(encode(['a', 'zzz', 'c'], v, 5))).toEqual([2, OOV_ID, 4, PAD_ID, PAD_ID]);
    expect(Array.from(encode(['a', 'b', 'c', 'a'], v, 2))).toEqual([2, 3]);
  });
});

describe('text classification files', () => {
  it('parses tab- and space-separated labels, fastText prefixes, skips blank lines', () => {
    const r = right(parseTextClassification('pos\tgreat film\n\n__label__neg awful  plot\r\n', 'f.txt'));
    expect(r.labels).toEqual(['pos', 'neg']);
    expect(r.texts).toEqual(['great film', 'awful  plot']);
  });

  it('refuses a line without text, naming file and line', () => {
    expect(leftMessage(parseTextClassification('pos\tok\nneg\n', 'f.txt'))).toBe(
      "f.txt:2: no text after the label, expected 'label<TAB>text' or 'label text'",
    );
  });

  it('builds a token dataset whose vocabulary comes from the training file only', () => {
    const t = tempDir('text');
    try {
      const tr = writeFile(t.path('train.txt'), 'pos\tgood good fun\nneg\tbad dull\n');
      const te = writeFile(t.path('test.txt'), 'neg\tterrible bad\n');
      const ds = right(readTextDataset({ train: tr, test: te, seqLen: 4 }));
      expect(ds.kind).toBe('tokens');
      expect(ds.inputShape).toEqual([4]);
      expect(ds.classNames).toEqual(['neg', 'pos']);
      expect(ds.vocabulary).toEqual(['<pad>', '<unk>', 'good', 'bad', 'dull', 'fun']);
      expect(Array.from(ds.train.x)).toEqual([2, 2, 5, 0, 3, 4, 0, 0]);
      expect(Array.from(ds.test.x)).toEqual([OOV_ID, 3, 0, 0]); // 'terrible' unseen in training
      expect(Array.from(ds.train.y)).toEqual([1, 0]);
    } finally {
      t.cleanup();
    }
  });
});
