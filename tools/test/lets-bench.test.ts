/**
 * tools/lets-bench.mjs runs and reports what its docs say: every row, the per-round ratios, the
 * gradient evaluations each LETS row took (exact: they count, they do not time), in both modes,
 * and a --without naming a kernel the backend lacks is refused. Timings are not asserted (they
 * are the benchmark's output, not a property of the code). On the native backend, so skipped
 * where the addon is not built (a 50-step run on tfjs's cpu backend takes minutes).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const script = path.join(root, 'tools', 'lets-bench.mjs');
const addon = path.join(root, 'packages', 'native', 'build', 'Release', 'lets_native.node');
const run = (...args: string[]) => spawnSync(process.execPath, [script, '--backend', 'native', '--steps', '50', '--rounds', '1', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, LETS_NATIVE_THREADS: '1' } });
const maybe = fs.existsSync(addon) ? describe : describe.skip;
if (!fs.existsSync(addon)) console.log(`lets-bench test skipped: no native addon at ${addon} (npx lets-native build)`);

maybe('tools/lets-bench.mjs', () => {
  test.each([[[]], [['--lockstep']]])('%j: every row timed, LETS rows with their exact gradient evaluations', (extra) => {
    const r = run('--json', '--without', 'LetsTreeDots,LetsSubScale', ...extra);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.lockstep).toBe(extra.length > 0);
    expect(out.rows.map((x: { method: string }) => x.method)).toEqual([
      'SGD', 'SAM', 'LETS-SAM (defaults, whole run)', 'LETS-SAM (learning phase)', 'LETS-SAM (held)', 'SAM, full report',
      'SAM, without LetsTreeDots,LetsSubScale', 'LETS-SAM (defaults, whole run), without LetsTreeDots,LetsSubScale', 'LETS-SAM (learning phase), without LetsTreeDots,LetsSubScale',
    ]);
    expect(out.times.every((t: number[]) => t.length === 1 && t[0]! > 0)).toBe(true);
    const evals = out.rows.map((x: { evals: number }) => x.evals);
    // 50 steps at k = 5: ρ learned throughout takes a tangent ('fd': +1) at steps 4, 9, …, 49 and a
    // validation gradient (+1) at 5, 10, …, 45; held after its first update, one of each.
    expect(evals[3]).toBeCloseTo((2 * 50 + 10 + 9) / 50, 12);
    expect(evals[4]).toBeCloseTo((2 * 50 + 1 + 1) / 50, 12);
    // Without the fused kernels the same runs take the same gradients.
    expect(evals[7]).toBe(evals[2]);
    expect(evals[8]).toBe(evals[3]);
    for (const k of ['samOverSgdRounds', 'letsOverSamRounds', 'learningOverSamRounds', 'heldOverSamRounds']) expect(out[k]).toBeGreaterThan(0);
  }, 120_000);

  test('a kernel the backend does not register is refused, naming it', () => {
    const r = run('--without', 'LetsTreeDots,NoSuchKernel');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--without LetsTreeDots,NoSuchKernel: the native backend registers no kernel named NoSuchKernel/);
  }, 60_000);
});
