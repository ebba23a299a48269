import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * Files of a repository with one real npm dependency that installs without the internet: `tiny-number` is packed
 * with `npm pack` into vendor/ and depended on as a `file:` tarball; package-lock.json is committed and node_modules
 * ignored, as in a real project. `npm test` runs `node --test`.
 */
export async function npmProjectFiles(): Promise<Record<string, string | Buffer>> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'longrun-npmfx-'));
  try {
    const pkg = path.join(scratch, 'tiny-number');
    await fs.mkdir(pkg);
    await fs.writeFile(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: 'tiny-number', version: '1.0.0', main: 'index.js' }),
    );
    await fs.writeFile(
      path.join(pkg, 'index.js'),
      "module.exports = (n) => typeof n === 'number' && Number.isFinite(n);\n",
    );
    const env = { ...process.env, npm_config_cache: path.join(scratch, 'cache'), npm_config_offline: 'true' };
    await exec('npm', ['pack', '--silent', '--pack-destination', scratch], { cwd: pkg, env });
    const tarball = await fs.readFile(path.join(scratch, 'tiny-number-1.0.0.tgz'));
    const project = path.join(scratch, 'project');
    await fs.mkdir(path.join(project, 'vendor'), { recursive: true });
    await fs.writeFile(path.join(project, 'vendor', 'tiny-number-1.0.0.tgz'), tarball);
    const manifest = {
      name: 'calc',
      version: '1.0.0',
      private: true,
      scripts: { test: 'node --test' },
      dependencies: { 'tiny-number': 'file:vendor/tiny-number-1.0.0.tgz' },
    };
    await fs.writeFile(path.join(project, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
    await exec('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: project, env });
    return {
      'package.json': JSON.stringify(manifest, null, 2) + '\n',
      'package-lock.json': await fs.readFile(path.join(project, 'package-lock.json'), 'utf8'),
      'vendor/tiny-number-1.0.0.tgz': tarball,
      '.gitignore': 'node_modules/\n',
      'calc.js':
        "const isNumber = require('tiny-number');\n" +
        "function double(n) {\n  if (!isNumber(n)) throw new TypeError('not a number');\n  return 2 * n;\n}\n" +
        'module.exports = { double };\n',
      'calc.test.js':
        "const test = require('node:test');\nconst assert = require('node:assert');\nconst { double } = require('./calc');\n" +
        "test('double', () => assert.strictEqual(double(2), 4));\n",
    };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
