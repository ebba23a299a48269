import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A small Node project with no dependencies and one failing test (sub() is wrong). The demo and the
 * end-to-end tests run a team of simulated agents on it; CHANGELOG.md is where their work collides.
 */
export const SAMPLE_FILES: Record<string, string> = {
  'package.json':
    JSON.stringify({ name: 'calc', version: '1.0.0', private: true, scripts: { test: 'node test.js' } }, null, 2) +
    '\n',
  'README.md': '# calc\n\nA tiny arithmetic library.\n',
  'AGENTS.md':
    '# Notes for agents\n\n- Run `node test.js` before you finish.\n- Every change gets a line in CHANGELOG.md under "Unreleased".\n',
  'CHANGELOG.md': '# Changelog\n\n## Unreleased\n<!-- entries -->\n\n## 1.0.0\n- First release.\n',
  'lib/math.js':
    'exports.add = (a, b) => a + b;\n// BUG: sub adds instead of subtracting.\nexports.sub = (a, b) => a + b;\n',
  'test.js': [
    "const fs = require('fs');",
    "const path = require('path');",
    'let failed = 0;',
    "for (const f of fs.readdirSync(path.join(__dirname, 'tests')).filter((n) => n.endsWith('.test.js')).sort()) {",
    '  try {',
    "    require(path.join(__dirname, 'tests', f));",
    '    console.log(`ok ${f}`);',
    '  } catch (err) {',
    '    failed++;',
    '    console.log(`FAIL ${f}: ${err.message}`);',
    '  }',
    '}',
    'process.exit(failed ? 1 : 0);',
    '',
  ].join('\n'),
  'tests/math.test.js':
    "const assert = require('assert');\nconst m = require('../lib/math');\nassert.strictEqual(m.add(2, 3), 5);\nassert.strictEqual(m.sub(5, 3), 2);\n",
};

export function createSampleRepo(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(SAMPLE_FILES)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  const git = (...args: string[]) =>
    execFileSync(
      'git',
      ['-c', 'user.name=demo', '-c', 'user.email=demo@localhost', '-c', 'init.defaultBranch=main', ...args],
      {
        cwd: dir,
        stdio: 'pipe',
      },
    );
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'calc 1.0.0');
  return dir;
}
