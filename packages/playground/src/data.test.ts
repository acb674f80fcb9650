import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { batchIndices, batchOf, HEADER_BYTES, MAGIC, parseMnistSubset } from './data';

/** mnist.bin bytes in the build's layout (scripts/build.mjs), for 2×2 images. */
function encode(parts: { images: number[]; labels: number[] }[], rows = 2, cols = 2, magic = MAGIC, version = 1): Uint8Array {
  const total = HEADER_BYTES + parts.reduce((s, p) => s + p.images.length + p.labels.length, 0);
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode(magic), 0);
  const v = new DataView(out.buffer);
  [version, rows, cols, ...parts.map((p) => p.labels.length)].forEach((x, i) => v.setUint32(8 + 4 * i, x, true));
  let at = HEADER_BYTES;
  for (const p of parts) {
    out.set(p.images, at);
    at += p.images.length;
    out.set(p.labels, at);
    at += p.labels.length;
  }
  return out;
}

const parts = [
  { images: [0, 255, 0, 255, 10, 20, 30, 40], labels: [3, 7] },
  { images: [1, 2, 3, 4], labels: [9] },
  { images: [5, 6, 7, 8], labels: [0] },
];

describe('parseMnistSubset', () => {
  it('reads each split at its offset', () => {
    const d = parseMnistSubset(encode(parts));
    expect([d.rows, d.cols, d.train.count, d.validation.count, d.test.count]).toEqual([2, 2, 2, 1, 1]);
    expect(Array.from(d.train.images)).toEqual(parts[0]!.images);
    expect(Array.from(d.train.labels)).toEqual([3, 7]);
    expect(Array.from(d.validation.images)).toEqual([1, 2, 3, 4]);
    expect(Array.from(d.test.labels)).toEqual([0]);
  });

  it('names the file and what was expected when the bytes are not the layout', () => {
    expect(() => parseMnistSubset(new Uint8Array(10))).toThrow('mnist.bin: 10 bytes, expected at least a 32-byte header');
    expect(() => parseMnistSubset(encode(parts, 2, 2, 'NOTMNIST'))).toThrow('mnist.bin: starts with "NOTMNIST", expected "LETSMNST"');
    expect(() => parseMnistSubset(encode(parts, 2, 2, MAGIC, 2))).toThrow('mnist.bin: version 2, expected 1');
    expect(() => parseMnistSubset(encode(parts).subarray(0, 40))).toThrow('mnist.bin: 40 bytes, expected 52 for 2+1+1 images of 2×2');
    expect(() => parseMnistSubset(encode([parts[0]!, { images: [1, 2, 3, 4], labels: [10] }, parts[2]!]))).toThrow(
      'mnist.bin: validation label 0 is 10, expected 0..9',
    );
  });
});

describe('batches', () => {
  it('batchOf scales pixels to [0, 1] and one-hot encodes the labels', () => {
    const d = parseMnistSubset(encode(parts));
    const before = tf.memory().numTensors;
    const b = batchOf(d.train, [1, 0]);
    expect(b.x.shape).toEqual([2, 4]);
    expect(Array.from(b.x.dataSync())).toEqual([10, 20, 30, 40, 0, 255, 0, 255].map((v) => Math.fround(v / 255)));
    const y = b.y.arraySync();
    expect(y[0]!.indexOf(1)).toBe(7);
    expect(y[1]!.indexOf(1)).toBe(3);
    expect(y.map((r) => r.reduce((s, v) => s + v, 0))).toEqual([1, 1]);
    tf.dispose([b.x, b.y]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => batchOf(d.train, [2])).toThrow('batch index 2, expected 0..1');
  });

  it('batchIndices covers every example once per epoch, reshuffled each epoch, reproducibly', () => {
    const next = batchIndices(10, 5, 3);
    const e1 = [...next(), ...next()];
    const e2 = [...next(), ...next()];
    expect([...e1].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...e2].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(e2).not.toEqual(e1);
    const again = batchIndices(10, 5, 3);
    expect([...again(), ...again()]).toEqual(e1);
    expect(() => batchIndices(10, 11, 0)).toThrow('batch size 11, expected an integer in 1..10');
  });
});
