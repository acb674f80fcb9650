import { random } from '@lets/runtime';
import { batchIndices, gaussianBlobs, holdOutIndices, noisyLabels, randomCrop, teacherNetwork, twoSpirals } from './index';

/** [length, FNV-1a over the float64 bits, first, last]: a bit-exact fingerprint of an array. */
const fingerprint = (a: ArrayLike<number>): number[] => {
  let h = 0x811c9dc5;
  const f = new Float64Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < a.length; i++) {
    f[0] = a[i]!;
    h = Math.imul(h ^ u[0]!, 0x01000193) >>> 0;
    h = Math.imul(h ^ u[1]!, 0x01000193) >>> 0;
  }
  return [a.length, h, a[0] ?? NaN, a[a.length - 1] ?? NaN];
};

describe('random streams of the data pipeline', () => {
  it('are bit for bit those of the pre-keys stream naming (fingerprints recorded with data/src/prng.ts at 5d004b7)', () => {
    const blobs = gaussianBlobs({ seed: 3, trainPerClass: 20, testPerClass: 5 });
    const spirals = twoSpirals({ seed: 4 });
    const teacher = teacherNetwork({ seed: 5 });
    const labels = blobs.train.y;
    const noisy = noisyLabels(labels, blobs.numClasses, { kind: 'symmetric', rate: 0.4, seed: 8 });
    if (noisy._tag !== 'Right') throw new Error('noisyLabels failed');
    const image = Float32Array.from({ length: 2 * 6 * 6 }, (_, i) => i);
    expect({
      blobs: fingerprint(blobs.train.x as Float32Array),
      blobsY: fingerprint(blobs.train.y),
      spirals: fingerprint(spirals.train.x as Float32Array),
      teacher: fingerprint(teacher.train.x as Float32Array),
      teacherY: fingerprint(teacher.train.y),
      batches: fingerprint(Int32Array.from(batchIndices(50, { batchSize: 7, seed: 9, epoch: 2 }).flatMap((b) => [...b]))),
      hold: fingerprint(holdOutIndices(labels, { fraction: 0.25, seed: 6, stratified: true })[0]),
      noise: fingerprint(noisy.right),
      crop: fingerprint(randomCrop({ padding: 2 })(image, [2, 6, 6, 1], random.rng(random.fold(random.key(1))))),
    }).toEqual({
      blobs: [120, 1330491572, 6.198802947998047, -2.947699546813965],
      blobsY: [60, 522942501, 0, 2],
      spirals: [800, 2890257126, -0.028458595275878906, 0.425589919090271],
      teacher: [5120, 1756064513, 2.2157700061798096, 0.4838819205760956],
      teacherY: [512, 1712418245, 1, 1],
      batches: [50, 2173943957, 45, 8],
      hold: [15, 3508553597, 1, 47],
      noise: [60, 2765846565, 2, 1],
      crop: [72, 2467623685, 0, 0],
    });
  });
});
