// Tests of the repository's tools: tools/check-deps.mjs and the consumer test (tools/consumer/).
const path = require('path');
module.exports = {
  ...require('../jest.preset.js')(__dirname),
  displayName: 'tools',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.json'), diagnostics: false }],
  },
};
