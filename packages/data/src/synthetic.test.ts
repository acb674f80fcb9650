import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from '@lets/runtime';
import { classCounts } from './dataset';
import { gaussianBlobs, teacherNetwork, teacherWeights, twoSpirals } from './synthetic';

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});

describe('gaussianBlobs', () => {
  it('balanced classes around per-class centres with the requested spread', () => {
    const ds = gaussianBlobs({ numClasses: 4, dim: 3, trainPerClass: 500, std: 0.5, separation: 5, seed: 2 });
    expect(ds.inputShape).toEqual([3]);
    expect(classCounts(ds.train.y, 4)).toEqual([500, 500, 500, 500]);
    // Class means estimate the centres; within-class variance ≈ std² = 0.25
    // (sd of a sample variance over 1500 values ≈ 0.25·√(2/1500) ≈ 0.009; allow 0.05).
    const mean = new Float64Array(12);
    ds.train.y.forEach((c, i) => { for (let j = 0; j < 3; j++) mean[c * 3 + j] = mean[c * 3 + j]! + ds.train.x[i * 3 + j]! / 500; });
    let v = 0;
    ds.train.y.forEach((c, i) => { for (let j = 0; j < 3; j++) v += (ds.train.x[i * 3 + j]! - mean[c * 3 + j]!) ** 2; });
    expect(Math.abs(v / (2000 * 3) - 0.25)).toBeLessThan(0.05);
    // Test points are classified by the nearest training mean almost perfectly when centres are far apart.
    let correct = 0;
    for (let i = 0; i < ds.test.count; i++) {
      let best = -1, bd = Infinity;
      for (let c = 0; c < 4; c++) {
        let d = 0;
        for (let j = 0; j < 3; j++) d += (ds.test.x[i * 3 + j]! - mean[c * 3 + j]!) ** 2;
        if (d < bd) { bd = d; best = c; }
      }
      if (best === ds.test.y[i]) correct++;
    }
    expect(correct / ds.test.count).toBeGreaterThan(0.9);
  });
});

describe('twoSpirals', () => {
  it('points lie on two arms half a turn apart: θ − 2π·turns·r − cπ ≡ 0 (mod 2π) up to noise', () => {
    const turns = 1.5;
    const ds = twoSpirals({ trainPerClass: 300, turns, noise: 0, seed: 1 });
    expect(classCounts(ds.train.y, 2)).toEqual([300, 300]);
    for (let i = 0; i < ds.train.count; i++) {
      const [px, py] = [ds.train.x[2 * i]!, ds.train.x[2 * i + 1]!];
      const r = Math.hypot(px, py);
      expect(r).toBeLessThanOrEqual(1 + 1e-6);
      if (r < 0.05) continue; // the angle is ill-conditioned at the centre
      const d = Math.atan2(py, px) - 2 * Math.PI * turns * r - ds.train.y[i]! * Math.PI;
      const wrapped = Math.abs(Math.atan2(Math.sin(d), Math.cos(d)));
      expect(wrapped).toBeLessThan(1e-4); // float32 coordinates: angle error ~1e-6/r
    }
  });
});

describe('teacherNetwork', () => {
  it('labels equal argmax of the teacher recomputed with tf ops', () => {
    const ds = teacherNetwork({ inputDim: 5, hidden: 7, numClasses: 3, trainCount: 200, seed: 4 });
    const w = teacherWeights(5, 7, 3, 4);
    const labels = tf.tidy(() => {
      const x = tf.tensor2d(ds.train.x, [200, 5]);
      const h = tf.tanh(tf.add(tf.matMul(x, tf.tensor2d(Float32Array.from(w.w1), [7, 5]), false, true), tf.tensor1d(Float32Array.from(w.b1))));
      const logits = tf.add(tf.matMul(h, tf.tensor2d(Float32Array.from(w.w2), [3, 7]), false, true), tf.tensor1d(Float32Array.from(w.b2)));
      return tf.argMax(logits, 1);
    });
    const got = labels.dataSync();
    labels.dispose();
    // float32 vs float64 may flip near-ties; allow 1% disagreement.
    let agree = 0;
    got.forEach((l, i) => (agree += l === ds.train.y[i] ? 1 : 0));
    expect(agree).toBeGreaterThanOrEqual(198);
    expect(Math.min(...classCounts(ds.train.y, 3))).toBeGreaterThan(0);
  });

  it('is reproducible under its seed; train and test differ', () => {
    const a = teacherNetwork({ seed: 1 });
    const b = teacherNetwork({ seed: 1 });
    expect(Array.from(a.train.x)).toEqual(Array.from(b.train.x));
    expect(Array.from(a.train.x.subarray(0, 10))).not.toEqual(Array.from(a.test.x.subarray(0, 10)));
  });
});
