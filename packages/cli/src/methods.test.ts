import { learningRateSchedule } from './methods';

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
