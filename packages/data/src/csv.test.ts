import { parseCsv, readCsvDataset, splitCsvLine } from './csv';
import * as E from 'fp-ts/Either';
import { leftMessage, right, tempDir, writeFile } from './test-util';

describe('splitCsvLine', () => {
  it('handles RFC 4180 quotes', () => {
    expect(splitCsvLine('a,"b,c","d""e",', ',')).toEqual(E.right(['a', 'b,c', 'd"e', '']));
    expect(E.isLeft(splitCsvLine('a,"b', ','))).toBe(true);
    expect(E.isLeft(splitCsvLine('"a"x,b', ','))).toBe(true);
  });
});

describe('parseCsv', () => {
  const text = 'x1,label,x2\n1.5,cat,2\n\n-3,dog,4e1\r\n0,cat,0\n';

  it('reads numeric features and a label column chosen by name', () => {
    const t = right(parseCsv(text, 'f.csv', { labelColumn: 'label' }));
    expect(t.featureNames).toEqual(['x1', 'x2']);
    expect(Array.from(t.x)).toEqual([1.5, 2, -3, 40, 0, 0]);
    expect(t.labels).toEqual(['cat', 'dog', 'cat']);
  });

  it('defaults to the last column as label, and takes an index', () => {
    const t = right(parseCsv('a;b;y\n1;2;0\n3;4;1\n', 'g', { delimiter: ';' }));
    expect(t.labels).toEqual(['0', '1']);
    const u = right(parseCsv('0,1,2\n1,3,4\n', 'h', { header: false, labelColumn: 0 }));
    expect(u.labels).toEqual(['0', '1']);
    expect(Array.from(u.x)).toEqual([1, 2, 3, 4]);
  });

  it('refuses rows of the wrong width, naming file and line', () => {
    expect(leftMessage(parseCsv('a,b,y\n1,2,0\n1,2\n', 'w.csv'))).toBe(
      'w.csv:3: row has 2 fields, expected 3 (as in the header)',
    );
  });

  it('refuses non-numeric features and unknown label columns', () => {
    expect(leftMessage(parseCsv('a,b,y\n1,x,0\n', 'n.csv'))).toBe("n.csv:2: column 'b' is 'x', expected a finite number");
    expect(leftMessage(parseCsv('a,b,y\n1,,0\n', 'n.csv'))).toMatch(/column 'b' is ''/);
    expect(leftMessage(parseCsv('a,b,y\n1,2,0\n', 'n.csv', { labelColumn: 'z' }))).toMatch(/no column named 'z'/);
    expect(leftMessage(parseCsv('a,b,y\n1,2,0\n', 'n.csv', { labelColumn: 3 }))).toMatch(/label column 3, expected an index in \[0, 2\]/);
  });
});

describe('readCsvDataset', () => {
  const t = tempDir('csv');
  afterAll(() => t.cleanup());

  it('shares one class map between train and test files (sorted names)', () => {
    const tr = writeFile(t.path('tr.csv'), 'f,y\n1,b\n2,c\n');
    const te = writeFile(t.path('te.csv'), 'f,y\n3,a\n');
    const ds = right(readCsvDataset({ train: tr, test: te }));
    expect(ds.classNames).toEqual(['a', 'b', 'c']);
    expect(Array.from(ds.train.y)).toEqual([1, 2]);
    expect(Array.from(ds.test.y)).toEqual([0]);
    expect(ds.inputShape).toEqual([1]);
    expect(ds.kind).toBe('features');
  });

  it('holds out a seeded test fraction when no test file is given', () => {
    const rows = Array.from({ length: 50 }, (_, i) => `${i},${i % 3}`).join('\n');
    const p = writeFile(t.path('all.csv'), `f,y\n${rows}\n`);
    const a = right(readCsvDataset({ train: p, testFraction: 0.2, seed: 4 }));
    const b = right(readCsvDataset({ train: p, testFraction: 0.2, seed: 4 }));
    expect(a.test.count).toBe(10);
    expect(a.train.count).toBe(40);
    expect(Array.from(a.test.x)).toEqual(Array.from(b.test.x));
    // Partition: together the feature values are 0..49 exactly once, labels follow them.
    const all = [...a.train.x, ...a.test.x].sort((u, v) => u - v);
    expect(all).toEqual(Array.from({ length: 50 }, (_, i) => i));
    a.train.x.forEach((f, i) => expect(a.train.y[i]).toBe(f % 3));
    expect(a.numClasses).toBe(3);
  });

  it('refuses a broken CSV file on disk, naming file and line', () => {
    const p = writeFile(t.path('broken.csv'), 'f,g,y\n1,2,0\n3,4,1\n5,6\n');
    expect(leftMessage(readCsvDataset({ train: p }))).toBe(`${p}:4: row has 2 fields, expected 3 (as in the header)`);
    expect(leftMessage(readCsvDataset({ train: t.path('missing.csv') }))).toContain('missing.csv');
  });

  it('refuses a test file with a different number of features', () => {
    const tr = writeFile(t.path('a.csv'), 'f,g,y\n1,2,0\n');
    const te = writeFile(t.path('b.csv'), 'f,y\n1,0\n');
    expect(leftMessage(readCsvDataset({ train: tr, test: te }))).toMatch(/b.csv: 1 feature columns, expected 2/);
  });
});
