// Shared Jest settings for every package. Tests run on the TypeScript sources of the
// workspace packages (no build needed); type checking is the separate `typecheck` target.
const path = require('path');
const fs = require('fs');

// Each package's `test` script writes its JSON results here; tools/jest-summary.mjs sums them.
fs.mkdirSync(path.join(__dirname, 'tmp/jest'), { recursive: true });

module.exports = (packageDir) => ({
  displayName: path.basename(packageDir),
  rootDir: packageDir,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(packageDir, 'tsconfig.json'), diagnostics: false }],
  },
  moduleNameMapper: {
    '^@lets/([a-z-]+)$': path.join(__dirname, 'packages/$1/src/index.ts'),
    // the explicit entries of packages with a browser build (runtime, train): docs/browser.md
    '^@lets/([a-z-]+)/node$': path.join(__dirname, 'packages/$1/src/index.ts'),
    '^@lets/([a-z-]+)/browser$': path.join(__dirname, 'packages/$1/src/browser.ts'),
  },
  testTimeout: 120000,
  passWithNoTests: true,
});
