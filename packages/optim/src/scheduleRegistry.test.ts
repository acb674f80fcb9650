import { linearWarmup } from './schedules';
import { RUN_SCHEDULES } from './scheduleRegistry';

const build = (name: keyof typeof RUN_SCHEDULES, peak: number, totalSteps: number, warmupSteps = 0) =>
  RUN_SCHEDULES[name].build(peak, { totalSteps, warmupSteps });

describe('linearWarmup', () => {
  it('reaches the peak on its last warm-up step, never 0, then stays', () => {
    const s = linearWarmup(0.1, 4);
    expect([0, 1, 2, 3, 4, 100].map(s)).toEqual([0.025, 0.05, 0.07500000000000001, 0.1, 0.1, 0.1]);
    expect(() => linearWarmup(0.1, 0)).toThrow(/linearWarmup: warmupSteps must be a positive integer, got 0/);
    expect(() => linearWarmup(NaN, 3)).toThrow(/linearWarmup: peak must be a finite number/);
  });
});

describe('run schedules', () => {
  it('follow their formulas at hand-computed points', () => {
    const T = 100;
    const cos = build('cosine', 0.1, T);
    expect(cos(0)).toBeCloseTo(0.1, 15);
    expect(cos(50)).toBeCloseTo(0.05, 15); // ½(1 + cos(π/2)) = ½
    expect(cos(100)).toBeCloseTo(0, 15);
    const wc = build('warmup-cosine', 0.1, T, 10);
    expect(wc(0)).toBeCloseTo(0.01, 15); // (0 + 1)/10 of the peak
    expect(wc(9)).toBeCloseTo(0.1, 15);
    expect(wc(10)).toBeCloseTo(0.1, 15); // cosine starts at its peak
    expect(wc(55)).toBeCloseTo(0.05, 15); // halfway through the 90 cosine steps
    const lin = build('linear', 0.2, T);
    expect(lin(25)).toBeCloseTo(0.15, 15);
    const st = build('step', 1, T);
    expect([st(49), st(50), st(74), st(75)]).toEqual([1, 0.1, 0.1, 0.01]);
    expect(build('constant', 0.3, T)(77)).toBe(0.3);
  });

  it("are bit for bit the closed forms the lets command used before they came from optim's schedules", () => {
    // The command's own formulas (packages/cli/src/methods.ts up to this change), kept here as the reference.
    const reference = (name: string, peak: number, totalSteps: number, warmupSteps: number) => {
      const T = Math.max(1, totalSteps);
      switch (name) {
        case 'constant':
          return () => peak;
        case 'cosine':
          return (t: number) => peak * 0.5 * (1 + Math.cos((Math.PI * Math.min(t, T)) / T));
        case 'warmup-cosine': {
          const W = Math.min(Math.max(0, Math.round(warmupSteps)), T - 1);
          return (t: number) => (t < W ? (peak * (t + 1)) / W : peak * 0.5 * (1 + Math.cos((Math.PI * Math.min(t - W, T - W)) / (T - W))));
        }
        case 'linear':
          return (t: number) => peak * Math.max(0, 1 - t / T);
        default:
          return (t: number) => (t < 0.5 * T ? peak : t < 0.75 * T ? peak * 0.1 : peak * 0.01);
      }
    };
    const cases: [number, number, number][] = [[0.1, 1338, 89.2], [0.05, 7, 0], [0.37, 1, 0], [0.1, 33, 5], [1e-3, 101, 100]];
    for (const name of Object.keys(RUN_SCHEDULES) as (keyof typeof RUN_SCHEDULES)[]) {
      for (const [peak, T, W] of cases) {
        const a = build(name, peak, T, W);
        const b = reference(name, peak, T, W);
        for (let t = 0; t <= T + 3; t++) expect([name, t, a(t)]).toEqual([name, t, b(t)]);
      }
    }
  });

  it('each has a description', () => {
    expect(Object.keys(RUN_SCHEDULES)).toEqual(['constant', 'cosine', 'step', 'warmup-cosine', 'linear']);
    for (const s of Object.values(RUN_SCHEDULES)) expect(s.description.length).toBeGreaterThan(5);
  });
});
