#!/usr/bin/env node
// Records the replay fixtures of this release: runs the end-to-end scenarios with LONGRUN_RECORD_HISTORIES set, which
// makes their saveHistories calls write test/replay/v<package.json version>/<scenario>/. Run it once per release,
// after bumping the version; it refuses to touch a version already recorded (fixtures are never rewritten).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const version = `v${require(path.join(root, 'package.json')).version}`;
const dir = path.join(root, 'test', 'replay', version);
if (fs.existsSync(dir)) {
  console.error(
    `test/replay/${version} exists: that release's histories are recorded and never rewritten. ` +
      'Bump "version" in package.json for a new release, then run npm run replay:record again.',
  );
  process.exit(2);
}
const scenarios = [
  'test/run/e2e.test.ts',
  'test/run/control.test.ts',
  'test/run/history.test.ts',
  'test/run/placement.test.ts',
  'test/faults/crash.test.ts',
];
const jest = require.resolve('jest/bin/jest');
const r = spawnSync(process.execPath, [jest, '--runInBand', ...scenarios], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, LONGRUN_RECORD_HISTORIES: version },
});
if (r.status !== 0) {
  fs.rmSync(dir, { recursive: true, force: true });
  console.error(`recording failed; nothing kept under test/replay/${version}`);
  process.exit(r.status ?? 1);
}
console.log(`recorded test/replay/${version}: commit it with the release`);
