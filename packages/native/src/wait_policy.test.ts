// How waiting OpenMP threads wait: src/addon.ts sets libgomp's spin count from the spin probe
// (build/Release/lets_spin.node) before the addon loads libgomp, unless the user set
// OMP_WAIT_POLICY or GOMP_SPINCOUNT; without the probe, PASSIVE. libgomp reads the environment
// once per process, so each case runs in a fresh Node process (src/addon.ts bundled by esbuild).
import { spawnSync } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { buildSync } from 'esbuild';
import { SPIN_TARGET_US, spinCountFor } from './addon';

const release = join(__dirname, '..', 'build', 'Release');
const built = existsSync(join(release, 'lets_native.node')) && existsSync(join(release, 'lets_spin.node'));
let dir: string;
let bundle: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lets-native-wait-'));
  bundle = join(dir, 'addon.js');
  buildSync({ entryPoints: [join(__dirname, 'addon.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'silent' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A folder holding a copy of the addon and, when given, `probe` as its lets_spin.node; returns the addon's path. */
function addonCopy(name: string, probe?: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  copyFileSync(join(release, 'lets_native.node'), join(d, 'lets_native.node'));
  if (probe !== undefined) writeFileSync(join(d, 'lets_spin.node'), probe);
  return join(d, 'lets_native.node');
}

/** Loads the addon in a fresh process with `env` (undefined deletes) and returns what it saw. */
function child(env: Record<string, string | undefined>): { ok: boolean; waitPolicy?: string; policy?: string; count?: string; reason?: string; mine?: string } {
  const script = `const a = require(${JSON.stringify(bundle)}); const l = a.loadAddon();
process.stdout.write(JSON.stringify({ ok: l.ok, waitPolicy: l.waitPolicy, reason: l.reason, policy: process.env.OMP_WAIT_POLICY, count: process.env.GOMP_SPINCOUNT, mine: process.env.LETS_NATIVE_WAIT_POLICY }));`;
  const e: Record<string, string> = { LETS_NATIVE_ADDON: join(release, 'lets_native.node') };
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'OMP_WAIT_POLICY' && k !== 'GOMP_SPINCOUNT' && k !== 'LETS_NATIVE_ADDON' && k !== 'LETS_NATIVE_WAIT_POLICY') e[k] = v;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) e[k] = v;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: e });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('spinCountFor', () => {
  test('the count that spins for the target: target ns / ns a spin, rounded', () => {
    expect(SPIN_TARGET_US).toBe(100);
    expect(spinCountFor(10)).toBe(10000);
    expect(spinCountFor(12)).toBe(8333); // 100000 / 12 = 8333.3
    expect(spinCountFor(40)).toBe(2500);
    expect(spinCountFor(10, 30)).toBe(3000);
  });
  test('clamped to [1000, 100000]: a clock misread stays between a few µs and a few ms', () => {
    expect(spinCountFor(0.5)).toBe(100000);
    expect(spinCountFor(500)).toBe(1000);
  });
  test('no count for a reading that is not a positive finite number', () => {
    for (const bad of [0, -1, NaN, Infinity]) expect(spinCountFor(bad)).toBeUndefined();
  });
});

(built ? describe : describe.skip)('the policy set before libgomp loads (needs the built addon)', () => {
  test('the probe times a spin in a plausible range', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ns = (require(join(release, 'lets_spin.node')) as { spinNs(): number }).spinNs();
    expect(ns).toBeGreaterThan(0.1);
    expect(ns).toBeLessThan(10000);
  });

  test('nothing set: GOMP_SPINCOUNT from the probe, no PASSIVE, and the info says so', () => {
    const r = child({});
    expect(r.ok).toBe(true);
    expect(r.policy).toBeUndefined();
    const n = Number(r.count);
    expect(Number.isInteger(n)).toBe(true);
    expect(n).toBeGreaterThanOrEqual(1000);
    expect(n).toBeLessThanOrEqual(100000);
    const m = /^spin (\d+) µs then sleep \(GOMP_SPINCOUNT=(\d+), ([\d.]+) ns a spin\)$/.exec(r.waitPolicy ?? '');
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBe(n);
    // the count is the one for the measured spin (unless clamped), so the time is the target
    if (n > 1000 && n < 100000) {
      expect(Number(m![1])).toBeGreaterThanOrEqual(99);
      expect(Number(m![1])).toBeLessThanOrEqual(101);
    }
  });

  test('a child process started with the parent\'s choice says it is the parent\'s, not the user\'s', () => {
    const parent = child({});
    expect(parent.mine).toBe(`|${parent.count}|${parent.waitPolicy}`);
    const kid = child({ GOMP_SPINCOUNT: parent.count, LETS_NATIVE_WAIT_POLICY: parent.mine });
    expect(kid).toMatchObject({ ok: true, count: parent.count, waitPolicy: `${parent.waitPolicy}, as the parent process chose` });
    // the user changed the setting after the parent chose: it is the user's
    const changed = child({ GOMP_SPINCOUNT: '0', LETS_NATIVE_WAIT_POLICY: parent.mine });
    expect(changed.waitPolicy).toBe('as set: GOMP_SPINCOUNT=0');
    const passive = child({ LETS_NATIVE_ADDON: addonCopy('alone-parent') });
    expect(passive.mine).toBe('PASSIVE||sleep at once (OMP_WAIT_POLICY=PASSIVE; no spin probe)');
  });

  test("the user's OMP_WAIT_POLICY or GOMP_SPINCOUNT is left as it is", () => {
    const a = child({ OMP_WAIT_POLICY: 'ACTIVE' });
    expect(a).toMatchObject({ ok: true, policy: 'ACTIVE', waitPolicy: 'as set: OMP_WAIT_POLICY=ACTIVE' });
    expect(a.count).toBeUndefined();
    const b = child({ GOMP_SPINCOUNT: '0' });
    expect(b).toMatchObject({ ok: true, count: '0', waitPolicy: 'as set: GOMP_SPINCOUNT=0' });
    expect(b.policy).toBeUndefined();
  });

  test('without the probe beside the addon: PASSIVE, as before the probe', () => {
    const r = child({ LETS_NATIVE_ADDON: addonCopy('alone') });
    expect(r).toMatchObject({ ok: true, policy: 'PASSIVE', waitPolicy: 'sleep at once (OMP_WAIT_POLICY=PASSIVE; no spin probe)' });
    expect(r.count).toBeUndefined();
  });

  test('a probe that does not load is no probe', () => {
    const r = child({ LETS_NATIVE_ADDON: addonCopy('broken', 'not an ELF file') });
    expect(r).toMatchObject({ ok: true, policy: 'PASSIVE' });
  });
});
