import * as S from './schedules';

// Schedules are host float64 functions: expected values are computed by hand or from the formula
// written here, compared to 12 digits.
describe('schedules', () => {
  it('constant', () => {
    expect([0, 5, 1e6].map(S.constant(0.3))).toEqual([0.3, 0.3, 0.3]);
  });

  it('linear: init → end over transitionSteps, after transitionBegin, then flat', () => {
    const s = S.linear({ init: 1, end: 0.2, transitionSteps: 4, transitionBegin: 2 });
    // count 0,1,2: 1; 3: 1 − 0.8/4 = 0.8; 4: 0.6; 6: 0.2; 100: 0.2
    [[0, 1], [2, 1], [3, 0.8], [4, 0.6], [6, 0.2], [100, 0.2]].forEach(([c, v]) => expect(s(c!)).toBeCloseTo(v!, 12));
  });

  it('polynomial: (init − end)(1 − c/T)^p + end', () => {
    const s = S.polynomial({ init: 2, end: 1, power: 2, transitionSteps: 10 });
    expect(s(0)).toBe(2);
    expect(s(5)).toBeCloseTo(1 + 0.25, 12);
    expect(s(8)).toBeCloseTo(1 + 0.04, 12);
    expect(s(20)).toBe(1);
    expect(S.polynomial({ init: 2, end: 1, power: 2, transitionSteps: 0 })(7)).toBe(2);
    expect(() => S.polynomial({ init: 2, end: 1, power: 2, transitionSteps: -1 })).toThrow(/transitionSteps must be a non-negative integer, got -1/);
  });

  it('exponential: init·rate^((c − begin)/T), staircase, end bound', () => {
    const s = S.exponential({ init: 1, transitionSteps: 10, decayRate: 0.5 });
    expect(s(0)).toBe(1);
    expect(s(5)).toBeCloseTo(Math.SQRT1_2, 12);
    expect(s(20)).toBeCloseTo(0.25, 12);
    const st = S.exponential({ init: 1, transitionSteps: 10, decayRate: 0.5, staircase: true, transitionBegin: 5 });
    expect([0, 5, 14, 15, 34].map(st)).toEqual([1, 1, 1, 0.5, 0.25]);
    const bounded = S.exponential({ init: 1, transitionSteps: 1, decayRate: 0.5, end: 0.1 });
    expect(bounded(10)).toBe(0.1);
    const growing = S.exponential({ init: 1, transitionSteps: 1, decayRate: 2, end: 5 });
    expect(growing(2)).toBe(4);
    expect(growing(3)).toBe(5); // 8, bounded above by end
    expect(growing(10)).toBe(5);
    expect(() => S.exponential({ init: 1, transitionSteps: 0, decayRate: 0.5 })).toThrow(/transitionSteps must be a positive integer/);
  });

  it('piecewiseConstant: scales multiply in from each boundary on', () => {
    const s = S.piecewiseConstant(0.1, [[3, 0.5], [6, 0.1]]);
    expect([0, 2, 3, 5, 6, 100].map(s)).toEqual([0.1, 0.1, 0.05, 0.05, 0.1 * 0.5 * 0.1, 0.1 * 0.5 * 0.1]);
    expect(() => S.piecewiseConstant(1, [[5, 1], [3, 1]])).toThrow(/boundary 1 must be greater than the one before, got 3/);
  });

  it('cosineDecay: init·((1 − α)·½(1 + cos(πc/T)) + α)', () => {
    const s = S.cosineDecay(2, 100, { alpha: 0.1 });
    expect(s(0)).toBeCloseTo(2, 12);
    expect(s(50)).toBeCloseTo(2 * (0.9 * 0.5 + 0.1), 12);
    expect(s(25)).toBeCloseTo(2 * (0.9 * 0.5 * (1 + Math.SQRT1_2) + 0.1), 12);
    expect(s(100)).toBeCloseTo(0.2, 12);
    expect(s(1000)).toBeCloseTo(0.2, 12);
    expect(S.cosineDecay(1, 10, { exponent: 2 })(5)).toBeCloseTo(0.25, 12);
  });

  it('joinSchedules: each piece starts from its own step 0', () => {
    const s = S.joinSchedules([(c) => c, (c) => 100 + c, (c) => -c], [3, 5]);
    expect([0, 2, 3, 4, 5, 7].map(s)).toEqual([0, 2, 100, 101, -0, -2]);
    expect(() => S.joinSchedules([(c) => c], [3])).toThrow(/schedules must be 2 schedules/);
  });

  it('warmupCosineDecay: linear warmup to peak, cosine to end at decaySteps', () => {
    const s = S.warmupCosineDecay({ init: 0, peak: 1, warmupSteps: 10, decaySteps: 110, end: 0.1 });
    expect(s(0)).toBe(0);
    expect(s(5)).toBeCloseTo(0.5, 12);
    expect(s(10)).toBeCloseTo(1, 12);
    // halfway through the 100 decay steps: 0.9·½ + 0.1
    expect(s(60)).toBeCloseTo(0.55, 12);
    expect(s(110)).toBeCloseTo(0.1, 12);
    expect(s(500)).toBeCloseTo(0.1, 12);
    expect(() => S.warmupCosineDecay({ init: 0, peak: 1, warmupSteps: 10, decaySteps: 10 })).toThrow(/decaySteps must be an integer greater than warmupSteps \(10\)/);
  });
});
