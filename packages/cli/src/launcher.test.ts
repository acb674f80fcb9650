// The `lets` launcher (bin/lets.js) runs the TypeScript sources through a require hook. The
// runtime's automatic backend choice must reach the native backend through that hook too, on a
// fresh clone where no package has been built (an ESM import() there bypassed the hook and fell
// back to wasm: `npm start` then took 8 min 45 s instead of about 2).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { isNativeAvailable, nativeInfo } from '@lets/native';
import { tempDir } from './test-util';

const LAUNCHER = join(__dirname, '..', 'bin', 'lets.js');

it("the launcher's 'auto' backend is native exactly when the native addon is built", () => {
  const out = join(tempDir(), 'run');
  const env: NodeJS.ProcessEnv = { ...process.env, LETS_CLI_DIST: '0' };
  delete env['LETS_BACKEND'];
  const stdout = execFileSync(
    process.execPath,
    [LAUNCHER, 'train', '--preset', 'smoke', '--train-size', '100', '--test-size', '50', '--batch-size', '25', '--epochs', '1',
      '--quiet', '--backend', 'auto', '--json', '--out', out],
    { env, encoding: 'utf8' },
  );
  const summary = JSON.parse(stdout.trim().split('\n').pop() as string) as { backend: string };
  if (!isNativeAvailable()) console.log(`native addon not built here (${nativeInfo().reason}); expecting wasm`);
  expect(summary.backend).toBe(isNativeAvailable() ? 'native' : 'wasm');
});
