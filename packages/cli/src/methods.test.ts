import { learningRateSchedule, rhoLearningRate } from './methods';

describe('learning-rate schedules', () => {
  it('follow their formulas at hand-computed points', () => {
    const T = 100;
    const cos = learningRateSchedule('cosine', 0.1, T, 0);
    expect(cos(0)).toBeCloseTo(0.1, 15);
    expect(cos(50)).toBeCloseTo(0.05, 15); // ½(1 + cos(π/2)) = ½
    expect(cos(100)).toBeCloseTo(0, 15);
    const wc = learningRateSchedule('warmup-cosine', 0.1, T, 10);
    expect(wc(0)).toBeCloseTo(0.01, 15); // (0 + 1)/10 of the peak
    expect(wc(9)).toBeCloseTo(0.1, 15);
    expect(wc(10)).toBeCloseTo(0.1, 15); // cosine starts at its peak
    expect(wc(55)).toBeCloseTo(0.05, 15); // halfway through the 90 cosine steps
    const lin = learningRateSchedule('linear', 0.2, T, 0);
    expect(lin(25)).toBeCloseTo(0.15, 15);
    const st = learningRateSchedule('step', 1, T, 0);
    expect([st(49), st(50), st(74), st(75)]).toEqual([1, 0.1, 0.1, 0.01]);
    expect(learningRateSchedule('constant', 0.3, T, 0)(77)).toBe(0.3);
  });
});

describe("log ρ's learning rate", () => {
  it('is a cosine over the first span of the ρ updates, then 0; constant ignores the span', () => {
    const whole = rhoLearningRate('cosine', 0.2, 100) as (t: number) => number;
    expect(whole(0)).toBeCloseTo(0.2, 15);
    expect(whole(50)).toBeCloseTo(0.1, 15);
    expect(whole(100)).toBe(0);
    const early = rhoLearningRate('cosine', 0.2, 100, 0.3) as (t: number) => number;
    expect(early(0)).toBeCloseTo(0.2, 15);
    expect(early(15)).toBeCloseTo(0.1, 15); // halfway through the 30 updates of the span
    expect([early(30), early(31), early(99)]).toEqual([0, 0, 0]); // ρ is held after the span
    expect(rhoLearningRate('constant', 0.2, 100, 0.3)).toBe(0.2);
  });
});
