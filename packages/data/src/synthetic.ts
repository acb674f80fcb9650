/**
 * Synthetic classification tasks for tests, each seeded and with independent train and test
 * samples from the same distribution.
 *
 * - `gaussianBlobs`: class c has centre μ_c ~ N(0, separation²·I_d) and examples
 *   x = μ_c + σ·z, z ~ N(0, I_d).
 * - `twoSpirals`: class c ∈ {0, 1}, t ~ U(0, 1), θ = 2π·turns·t + cπ,
 *   x = (t·cos θ, t·sin θ) + noise·z (Lang & Witbrock, 1988).
 * - `teacherNetwork`: x ~ N(0, I_d), y = argmax(W₂·tanh(W₁x + b₁) + b₂) with
 *   W₁ ~ N(0, 1/d), W₂ ~ N(0, 1/h), b ~ N(0, 0.1²): a realizable task for a student of the
 *   same architecture.
 */
import { Dataset, Examples } from './dataset';
import { random } from '@lets/runtime';

const features = (x: Float32Array, y: Int32Array): Examples => ({ x, y, cleanY: y, count: y.length });

export interface BlobsOptions {
  readonly numClasses?: number;
  readonly dim?: number;
  readonly trainPerClass?: number;
  readonly testPerClass?: number;
  /** Standard deviation of the class centres (default 3). */
  readonly separation?: number;
  /** Within-class standard deviation (default 1). */
  readonly std?: number;
  readonly seed?: number;
}

export function gaussianBlobs(options: BlobsOptions = {}): Dataset {
  const k = options.numClasses ?? 3;
  const d = options.dim ?? 2;
  const sep = options.separation ?? 3;
  const std = options.std ?? 1;
  const seed = options.seed ?? 0;
  const crng = random.rng(random.fold(random.key(seed), 0x626c62, 0));
  const centres = Float64Array.from({ length: k * d }, () => sep * crng.nextNormal());
  const sample = (perClass: number, stream: number): Examples => {
    const rng = random.rng(random.fold(random.key(seed), 0x626c62, stream));
    const n = perClass * k;
    const x = new Float32Array(n * d);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % k;
      y[i] = c;
      for (let j = 0; j < d; j++) x[i * d + j] = centres[c * d + j]! + std * rng.nextNormal();
    }
    return features(x, y);
  };
  return {
    name: 'blobs',
    kind: 'features',
    train: sample(options.trainPerClass ?? 100, 1),
    test: sample(options.testPerClass ?? 50, 2),
    numClasses: k,
    inputShape: [d],
  };
}

export interface SpiralsOptions {
  readonly trainPerClass?: number;
  readonly testPerClass?: number;
  /** Number of turns of each arm (default 1.5). */
  readonly turns?: number;
  /** Standard deviation of the added noise (default 0.02). */
  readonly noise?: number;
  readonly seed?: number;
}

export function twoSpirals(options: SpiralsOptions = {}): Dataset {
  const turns = options.turns ?? 1.5;
  const noise = options.noise ?? 0.02;
  const seed = options.seed ?? 0;
  const sample = (perClass: number, stream: number): Examples => {
    const rng = random.rng(random.fold(random.key(seed), 0x737069, stream));
    const n = 2 * perClass;
    const x = new Float32Array(2 * n);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % 2;
      const t = rng.nextFloat();
      const th = 2 * Math.PI * turns * t + c * Math.PI;
      y[i] = c;
      x[2 * i] = t * Math.cos(th) + noise * rng.nextNormal();
      x[2 * i + 1] = t * Math.sin(th) + noise * rng.nextNormal();
    }
    return features(x, y);
  };
  return {
    name: 'spirals',
    kind: 'features',
    train: sample(options.trainPerClass ?? 200, 1),
    test: sample(options.testPerClass ?? 100, 2),
    numClasses: 2,
    inputShape: [2],
  };
}

export interface TeacherOptions {
  readonly inputDim?: number;
  readonly hidden?: number;
  readonly numClasses?: number;
  readonly trainCount?: number;
  readonly testCount?: number;
  readonly seed?: number;
}

export interface TeacherWeights {
  readonly w1: Float64Array; // hidden × inputDim
  readonly b1: Float64Array;
  readonly w2: Float64Array; // numClasses × hidden
  readonly b2: Float64Array;
}

/** The teacher's weights for a seed (exposed so tests can recompute labels). */
export function teacherWeights(inputDim: number, hidden: number, numClasses: number, seed: number): TeacherWeights {
  const rng = random.rng(random.fold(random.key(seed), 0x746368, 0));
  const g = (n: number, s: number) => Float64Array.from({ length: n }, () => s * rng.nextNormal());
  return {
    w1: g(hidden * inputDim, 1 / Math.sqrt(inputDim)),
    b1: g(hidden, 0.1),
    w2: g(numClasses * hidden, 1 / Math.sqrt(hidden)),
    b2: g(numClasses, 0.1),
  };
}

export function teacherNetwork(options: TeacherOptions = {}): Dataset {
  const d = options.inputDim ?? 10;
  const h = options.hidden ?? 16;
  const k = options.numClasses ?? 3;
  const seed = options.seed ?? 0;
  const w = teacherWeights(d, h, k, seed);
  const sample = (n: number, stream: number): Examples => {
    const rng = random.rng(random.fold(random.key(seed), 0x746368, stream));
    const x = new Float32Array(n * d);
    const y = new Int32Array(n);
    const hid = new Float64Array(h);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) x[i * d + j] = rng.nextNormal();
      for (let u = 0; u < h; u++) {
        let s = w.b1[u]!;
        for (let j = 0; j < d; j++) s += w.w1[u * d + j]! * x[i * d + j]!;
        hid[u] = Math.tanh(s);
      }
      let best = 0;
      let bestV = -Infinity;
      for (let c = 0; c < k; c++) {
        let s = w.b2[c]!;
        for (let u = 0; u < h; u++) s += w.w2[c * h + u]! * hid[u]!;
        if (s > bestV) {
          bestV = s;
          best = c;
        }
      }
      y[i] = best;
    }
    return features(x, y);
  };
  return {
    name: 'teacher',
    kind: 'features',
    train: sample(options.trainCount ?? 512, 1),
    test: sample(options.testCount ?? 256, 2),
    numClasses: k,
    inputShape: [d],
  };
}
