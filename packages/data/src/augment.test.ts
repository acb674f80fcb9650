import { BatchShape, channelStats, composeAugmentations, horizontalFlip, normalizePerChannel, randomCrop } from './augment';
import { random } from '@lets/runtime';

// streamRng(seed) of the pre-keys data/src/prng.ts: the stream at the empty path of the seed.
const streamRng = (seed: number) => random.rng(random.fold(random.key(seed)));

const shape: BatchShape = [6, 5, 4, 2];
// Distinct positive values, so a crop offset is identifiable from the output.
const x = Float32Array.from({ length: 6 * 5 * 4 * 2 }, (_, i) => i + 1);
const at = (a: Float32Array, n: number, y: number, xx: number, c: number) => a[((n * 5 + y) * 4 + xx) * 2 + c]!;

describe('randomCrop', () => {
  it('each image is its zero-padded original shifted by some (dy, dx) in [-p, p]²', () => {
    const p = 2;
    const out = randomCrop({ padding: p })(x, shape, streamRng(1));
    const offsets = new Set<string>();
    for (let n = 0; n < 6; n++) {
      const matches: string[] = [];
      for (let dy = -p; dy <= p; dy++)
        for (let dx = -p; dx <= p; dx++) {
          let ok = true;
          for (let y = 0; y < 5 && ok; y++)
            for (let xx = 0; xx < 4 && ok; xx++)
              for (let c = 0; c < 2 && ok; c++) {
                const sy = y + dy, sx = xx + dx;
                const want = sy < 0 || sy >= 5 || sx < 0 || sx >= 4 ? 0 : at(x, n, sy, sx, c);
                ok = at(out, n, y, xx, c) === want;
              }
          if (ok) matches.push(`${dy},${dx}`);
        }
      expect(matches.length).toBe(1);
      offsets.add(matches[0]!);
    }
    expect(offsets.size).toBeGreaterThan(1); // offsets vary between images
  });

  it('padding 0 is the identity; same generator state, same crop', () => {
    expect(Array.from(randomCrop({ padding: 0 })(x, shape, streamRng(1)))).toEqual(Array.from(x));
    const a = randomCrop({ padding: 3 })(x, shape, streamRng(7));
    const b = randomCrop({ padding: 3 })(x, shape, streamRng(7));
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});

describe('horizontalFlip', () => {
  it('probability 1 mirrors every row; twice is the identity; the input is not modified', () => {
    const copy = Float32Array.from(x);
    const f = horizontalFlip({ probability: 1 });
    const once = f(x, shape, streamRng(1));
    expect(at(once, 3, 2, 0, 1)).toBe(at(x, 3, 2, 3, 1));
    expect(Array.from(f(once, shape, streamRng(2)))).toEqual(Array.from(x));
    expect(Array.from(x)).toEqual(Array.from(copy));
  });

  it('probability 0.5 flips some images and keeps the others intact', () => {
    const big: BatchShape = [200, 1, 2, 1];
    const xb = Float32Array.from({ length: 400 }, (_, i) => i);
    const out = horizontalFlip()(xb, big, streamRng(3));
    let flipped = 0;
    for (let n = 0; n < 200; n++) {
      const [a, b] = [out[2 * n]!, out[2 * n + 1]!];
      if (a === xb[2 * n + 1] && b === xb[2 * n]) flipped++;
      else expect([a, b]).toEqual([xb[2 * n], xb[2 * n + 1]]);
    }
    // Binomial(200, 0.5): sd ≈ 7.1; allow 5 sd.
    expect(Math.abs(flipped - 100)).toBeLessThan(36);
  });
});

describe('normalizePerChannel', () => {
  it('computes (x − mean_c) / std_c per channel', () => {
    const out = normalizePerChannel([1, 10], [2, 4])(x, shape, streamRng(0));
    expect(out[0]).toBeCloseTo((1 - 1) / 2, 6);
    expect(out[1]).toBeCloseTo((2 - 10) / 4, 6);
    expect(out[7]).toBeCloseTo((8 - 10) / 4, 6);
    expect(() => normalizePerChannel([0], [1])(x, shape, streamRng(0))).toThrow(/2 channels, expected 1/);
    expect(() => normalizePerChannel([0], [0])).toThrow(/std > 0/);
  });

  it('channelStats of images gives the mean and std normalization removes', () => {
    const u8 = Uint8Array.from({ length: 300 }, (_, i) => (i * 31) % 256);
    const { mean, std } = channelStats(u8, 3);
    const f = Float32Array.from(u8, (v) => v / 255);
    const out = normalizePerChannel(mean, std)(f, [100, 1, 1, 3], streamRng(0));
    const again = channelStats(out, 3, 1);
    // After normalization: mean 0, std 1 per channel, up to float32 rounding (~1e-6 relative).
    again.mean.forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-5));
    again.std.forEach((s) => expect(Math.abs(s - 1)).toBeLessThan(1e-5));
  });
});

describe('composeAugmentations', () => {
  it('applies left to right', () => {
    const add1 = (a: Float32Array) => a.map((v) => v + 1);
    const dbl = (a: Float32Array) => a.map((v) => v * 2);
    expect(composeAugmentations(add1, dbl)(Float32Array.from([1]), [1, 1, 1, 1], streamRng(0))[0]).toBe(4);
  });
});
