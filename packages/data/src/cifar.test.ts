import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseCifarBatch, readCifar10, readCifar100 } from './cifar';
import { lcgBytes, leftMessage, right, tempDir, writeFile } from './test-util';

/** Records as the CIFAR page describes them: label byte(s), then R plane, G plane, B plane. */
function cifarRecords(labels: number[][], seed: number): { bytes: Buffer; planes: number[][] } {
  const planes = labels.map((_, i) => lcgBytes(3072, seed + i));
  const bytes = Buffer.concat(labels.map((l, i) => Buffer.from([...l, ...planes[i]!])));
  return { bytes, planes };
}

/** Pixel (row r, column c, channel ch) of a record's CHW planes. */
const chw = (plane: number[], r: number, c: number, ch: number) => plane[ch * 1024 + r * 32 + c]!;

describe('CIFAR binary batches', () => {
  const t = tempDir('cifar');
  afterAll(() => t.cleanup());

  it('a CIFAR-10 fixture directory reads back exactly (HWC pixels, labels, order)', () => {
    const dir = t.path('cifar-10-batches-bin');
    mkdirSync(dir);
    const written: { labels: number[]; planes: number[][] }[] = [];
    for (let k = 1; k <= 6; k++) {
      const labels = lcgBytes(3 + k, 100 + k, 10);
      const { bytes, planes } = cifarRecords(labels.map((l) => [l]), 1000 * k);
      writeFile(join(dir, k <= 5 ? `data_batch_${k}.bin` : 'test_batch.bin'), bytes);
      written.push({ labels, planes });
    }
    // The parent directory is accepted too.
    const ds = right(readCifar10(t.dir));
    expect(ds.inputShape).toEqual([32, 32, 3]);
    expect(ds.numClasses).toBe(10);
    expect(ds.classNames![0]).toBe('airplane');
    const trainParts = written.slice(0, 5);
    expect(Array.from(ds.train.y)).toEqual(trainParts.flatMap((w) => w.labels));
    expect(Array.from(ds.test.y)).toEqual(written[5]!.labels);
    const trainPlanes = trainParts.flatMap((w) => w.planes);
    expect(ds.train.count).toBe(trainPlanes.length);
    // Every value checked against the CHW source by its (image, row, col, channel).
    const x = ds.train.x;
    trainPlanes.forEach((plane, i) => {
      for (let r = 0; r < 32; r++)
        for (let c = 0; c < 32; c++)
          for (let ch = 0; ch < 3; ch++) {
            if (x[((i * 32 + r) * 32 + c) * 3 + ch] !== chw(plane, r, c, ch)) throw new Error(`pixel ${i},${r},${c},${ch}`);
          }
    });
    const tp = written[5]!.planes;
    expect(ds.test.x[((2 * 32 + 31) * 32 + 7) * 3 + 2]).toBe(chw(tp[2]!, 31, 7, 2));
  });

  it('a CIFAR-100 fixture reads fine and coarse labels', () => {
    const dir = t.path('c100');
    mkdirSync(dir);
    const lab = [[3, 77], [19, 0], [0, 99]];
    const tr = cifarRecords(lab, 7);
    writeFile(join(dir, 'train.bin'), tr.bytes);
    writeFile(join(dir, 'test.bin'), cifarRecords([[1, 2]], 9).bytes);
    writeFile(join(dir, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `c${i}`).join('\n') + '\n');
    const fine = right(readCifar100(dir));
    expect(Array.from(fine.train.y)).toEqual([77, 0, 99]);
    expect(fine.numClasses).toBe(100);
    expect(fine.train.x[((1 * 32 + 5) * 32 + 6) * 3 + 1]).toBe(chw(tr.planes[1]!, 5, 6, 1));
    const coarse = right(readCifar100(dir, { labels: 'coarse' }));
    expect(Array.from(coarse.train.y)).toEqual([3, 19, 0]);
    expect(coarse.numClasses).toBe(20);
    expect(coarse.classNames![19]).toBe('c19');
  });

  it('refuses a wrong record size, naming the file and the record layout', () => {
    const b = cifarRecords([[1], [2]], 1).bytes;
    const cut = new Uint8Array(b.subarray(0, b.length - 1));
    expect(leftMessage(parseCifarBatch(cut, 'data_batch_1.bin', 'cifar10'))).toBe(
      'data_batch_1.bin: wrong CIFAR record size: file has 6145 bytes, expected a positive multiple of the 3073-byte CIFAR-10 record (1 label byte + 3072 pixels)',
    );
    // CIFAR-10 bytes read as CIFAR-100 (2 × 3073 is not a multiple of 3074).
    expect(leftMessage(parseCifarBatch(new Uint8Array(b), 'train.bin', 'cifar100'))).toMatch(/3074-byte CIFAR-100 record/);
    expect(leftMessage(parseCifarBatch(new Uint8Array(0), 'e.bin', 'cifar10'))).toMatch(/file has 0 bytes/);
  });

  it('refuses a label out of range', () => {
    const b = cifarRecords([[1], [10]], 1).bytes;
    expect(leftMessage(parseCifarBatch(new Uint8Array(b), 'b.bin', 'cifar10'))).toMatch(
      /b.bin: label out of range at record 1: 10, expected an integer in \[0, 9\]/,
    );
    const c = cifarRecords([[20, 5]], 1).bytes;
    expect(leftMessage(parseCifarBatch(new Uint8Array(c), 'c.bin', 'cifar100', { labels: 'coarse' }))).toMatch(/\[0, 19\]/);
  });

  it('refuses broken batch files on disk, naming the file', () => {
    const dir = t.path('broken');
    mkdirSync(dir);
    for (let k = 1; k <= 5; k++) writeFile(join(dir, `data_batch_${k}.bin`), cifarRecords([[k]], k).bytes);
    writeFile(join(dir, 'test_batch.bin'), cifarRecords([[1]], 9).bytes);
    expect(right(readCifar10(dir)).train.count).toBe(5);
    const good = cifarRecords([[3], [4]], 1).bytes;
    writeFile(join(dir, 'data_batch_3.bin'), good.subarray(0, good.length - 100)); // truncated record
    expect(leftMessage(readCifar10(dir))).toMatch(/data_batch_3\.bin: wrong CIFAR record size: file has 6046 bytes/);
    writeFile(join(dir, 'data_batch_3.bin'), cifarRecords([[3], [11]], 1).bytes); // label 11
    expect(leftMessage(readCifar10(dir))).toMatch(/data_batch_3\.bin: label out of range at record 1: 11/);
  });

  it('names a missing batch', () => {
    const dir = t.path('partial');
    mkdirSync(dir);
    writeFile(join(dir, 'test_batch.bin'), cifarRecords([[1]], 1).bytes);
    expect(leftMessage(readCifar10(dir))).toContain('data_batch_1.bin');
    expect(leftMessage(readCifar10(t.path('none')))).toMatch(/not a directory/);
  });
});
