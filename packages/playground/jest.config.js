// Two workers: the end-to-end suite mostly waits on Chromium (its own processes), so the unit
// suites run beside it instead of after it.
module.exports = { ...require('../../jest.preset.js')(__dirname), maxWorkers: 2 };
