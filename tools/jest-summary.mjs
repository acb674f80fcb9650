// Sums the Jest JSON results that every package's `test` script writes to tmp/jest/*.json
// and prints the closing line "N passed, N failed" (exit 1 on any failure or missing suite).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'tmp/jest';
// every package with Jest tests, and the repository's tools (tools/jest.config.js: check-deps, the consumer test)
const packages = readdirSync('packages').filter((p) => existsSync(join('packages', p, 'jest.config.js')));
if (existsSync(join('tools', 'jest.config.js'))) packages.push('tools');
let passed = 0, failed = 0, skipped = 0, broken = 0;
for (const p of packages) {
  const file = join(dir, `${p}.json`);
  if (!existsSync(file)) { console.log(`summary: ${p}: no results (did its tests run?)`); broken++; continue; }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  broken += r.numRuntimeErrorTestSuites ?? 0;
  console.log(`summary: ${p}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
}
failed += broken;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
