/**
 * The upper objectives' partials ∂F/∂δ and ∂F/∂L_vl (F as a function of δ and L_vl) against
 * central differences of their own values, and the hypergradient's assembly.
 */
import { gapPlusValidation, gapSquared, objectiveHypergradient, upperObjective, validationLoss, UPPER_OBJECTIVES } from './objectives';

const cases = [gapSquared, validationLoss, gapPlusValidation(0.7)];
const points: [number, number][] = [[1.3, 0.4], [0.2, 0.9], [2.302, 2.302]];

describe.each(cases.map((o) => [o.name, o] as const))('objective %s', (_n, o) => {
  it.each(points)('partials at L_vl = %p, L_tr = %p match central differences in (δ, L_vl)', (v, t) => {
    const h = 1e-5;
    // F(δ, L_vl) with L_tr = L_vl − δ.
    const F = (d: number, lv: number) => o.at(lv, lv - d).value;
    const d = v - t;
    const dGap = (F(d + h, v) - F(d - h, v)) / (2 * h);
    const dVal = (F(d, v + h) - F(d, v - h)) / (2 * h);
    const got = o.at(v, t);
    expect(got.dGap).toBeCloseTo(dGap, 6);
    expect(got.dVal).toBeCloseTo(dVal, 6);
  });
});

it('values by hand, names, and the hypergradient assembly', () => {
  expect(gapSquared.at(1.5, 0.5).value).toBe(0.5);
  expect(validationLoss.at(1.5, 0.5).value).toBe(1.5);
  expect(gapPlusValidation(2).at(1.5, 0.5).value).toBe(0.5 + 3);
  expect(UPPER_OBJECTIVES).toEqual(['gap', 'val', 'gapVal']);
  expect(upperObjective('gapVal', { lambda: 2 }).at(1.5, 0.5).dVal).toBe(2);
  expect(upperObjective(validationLoss)).toBe(validationLoss);
  // dF/dρ = ∂F/∂δ ⟨u, τ⟩ + ∂F/∂L_vl ⟨∇L_vl, τ⟩
  expect(objectiveHypergradient({ value: 0, dGap: 2, dVal: 3 }, 5, 7)).toBe(2 * 5 + 3 * 7);
  // the paper's: exactly δ·⟨u, τ⟩, whatever ⟨∇L_vl, τ⟩ is
  expect(objectiveHypergradient(gapSquared.at(1.5, 0.5), 0.25, Number.NaN)).toBe(0.25);
  expect(() => upperObjective('nope' as never)).toThrow(/unknown objective 'nope'; expected one of gap, val, gapVal/);
  expect(() => gapPlusValidation(-1)).toThrow(/lambda must be a finite number ≥ 0/);
  expect(() => upperObjective({} as never)).toThrow(/needs a name and an at/);
});
