// Mesa's EGL reads EGL_PLATFORM from the real process environment, which Jest's sandboxed
// process.env does not reach: set it here, before the workers start, for the software
// WebGPU test (src/webgpu.test.ts). Harmless where WebGPU is not installed.
process.env.EGL_PLATFORM = process.env.EGL_PLATFORM || 'surfaceless';
module.exports = require('../../jest.preset.js')(__dirname);
