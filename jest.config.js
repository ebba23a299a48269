/** One Temporal dev server for the whole run (test/setup), tests connect to it. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // test/faults/crash.test.ts kills the worker 10 times (about two minutes); `npm run test:faults` runs its long
  // version (20 kills).
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 1,
};
