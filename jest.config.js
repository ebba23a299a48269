/** One Temporal dev server for the whole run (test/setup), tests connect to it. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // The crash suite (≥ 10 kill -9 of the worker in one run) takes minutes: it runs with `npm run test:faults`.
  testPathIgnorePatterns: process.env.LONGRUN_FAULTS ? ['/node_modules/'] : ['/node_modules/', '<rootDir>/test/faults/crash.test.ts'],
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 1,
};
