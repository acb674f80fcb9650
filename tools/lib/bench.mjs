// Shared by the benchmarks in tools/: command-line options, the median, and loading workspace
// packages straight from their TypeScript sources (bundled on the fly with esbuild, so no
// build step is needed; tfjs, webgpu and fp-ts stay external and resolve from node_modules).
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const args = process.argv.slice(2);
export const require = createRequire(join(root, 'package.json'));

/** The value after `--name`, or `dflt`. */
export const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};

/** Whether `--name` was given. */
export const flag = (name) => args.includes(`--${name}`);

export const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// @lets/native finds its compiled addon through the installed package when it is bundled
// (addonPath in packages/native/src/addon.ts), so it can be bundled like the others.
const PACKAGES = ['tree', 'optim', 'sam', 'bilevel', 'lets', 'train', 'runtime', 'data', 'models', 'native', 'sharpness'];

/**
 * `{ [name]: module }` for the named workspace packages, from their sources.
 * @lets/runtime finds its generated gradient bundle through the installed package, so the
 * bundle can live anywhere (tmp/bench/, git-ignored).
 */
export async function loadPackages(names, tag = names.join('-')) {
  const outfile = join(root, 'tmp', 'bench', `${tag}.cjs`);
  await build({
    stdin: {
      contents: names.map((p) => `export * as ${p} from '@lets/${p}';`).join('\n'),
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile,
    logLevel: 'warning',
    external: ['@tensorflow/*', 'webgpu', 'fp-ts', 'fp-ts/*'],
    alias: Object.fromEntries(PACKAGES.map((p) => [`@lets/${p}`, join(root, `packages/${p}/src/index.ts`)])),
  });
  return require(outfile);
}
