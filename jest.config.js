/** One Temporal dev server for the whole run (test/setup), tests connect to it. */
const SLOW_SUITES = [
  '<rootDir>/test/faults/',
  '<rootDir>/test/soak/',
  '<rootDir>/test/upgrade/',
  // End-to-end through spawned CLI processes (ts-node each): three minutes between them.
  '<rootDir>/test/cli/run.test.ts',
  '<rootDir>/test/cli/inputs.test.ts',
  // 102 worker agents at once.
  '<rootDir>/test/run/full-plan.test.ts',
];

module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // The default suite (`npm test`) leaves out the slow ones: test/faults (kill -9 of workers, a lost host, server
  // restarts, model faults, secrets), test/soak, test/upgrade, the CLI's two spawned end-to-end suites and the
  // 102-agent full-plan run.
  // `npm run test:slow` runs those (CI runs both);
  // LONGRUN_SLOW_TESTS=1 lets jest find them (`LONGRUN_SLOW_TESTS=1 npx jest test/faults/crash.test.ts`).
  testPathIgnorePatterns: ['/node_modules/', ...(process.env.LONGRUN_SLOW_TESTS ? [] : SLOW_SUITES)],
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 1,
};
