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

/**
 * Files of a Python project whose one dependency installs from a wheel in the repository (pip never reaches an
 * index): requirements.txt says `--no-index --find-links vendor`, .venv is ignored. The wheel is written by hand (a
 * zip with the package and its dist-info), so no build backend is needed. Tests run with `.venv/bin/python -m unittest`.
 */
export async function pythonProjectFiles(): Promise<Record<string, string | Buffer>> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'longrun-pyfx-'));
  try {
    const wheel = path.join(scratch, 'tiny_half-1.0-py3-none-any.whl');
    const script = [
      'import sys, zipfile',
      'files = {',
      '  "tiny_half/__init__.py": "def half(n):\\n    return n / 2\\n",',
      '  "tiny_half-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: tiny-half\\nVersion: 1.0\\n",',
      '  "tiny_half-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: hand\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",',
      '}',
      'record = "".join(f"{name},,\\n" for name in files) + "tiny_half-1.0.dist-info/RECORD,,\\n"',
      'with zipfile.ZipFile(sys.argv[1], "w") as z:',
      '  for name, text in files.items(): z.writestr(name, text)',
      '  z.writestr("tiny_half-1.0.dist-info/RECORD", record)',
    ].join('\n');
    await exec('python3', ['-c', script, wheel]);
    return {
      'requirements.txt': '--no-index\n--find-links vendor\ntiny-half==1.0\n',
      'vendor/tiny_half-1.0-py3-none-any.whl': await fs.readFile(wheel),
      '.gitignore': '.venv/\n__pycache__/\n',
      'calc.py': 'from tiny_half import half\n\n\ndef quarter(n):\n    return half(half(n))\n',
      'test_calc.py':
        'import unittest\n\nfrom calc import quarter\n\n\nclass CalcTest(unittest.TestCase):\n' +
        '    def test_quarter(self):\n        self.assertEqual(quarter(8), 2)\n',
    };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The npm project above with a second local package, `tiny-even`, already in vendor/ but not yet a dependency, and
 * the package.json and package-lock.json a task writes to depend on it too (a lockfile change; still no network).
 */
export async function npmLockfileChange(): Promise<{
  files: Record<string, string | Buffer>;
  changed: { 'package.json': string; 'package-lock.json': string };
}> {
  const files = await npmProjectFiles();
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'longrun-npmfx2-'));
  try {
    const pkg = path.join(scratch, 'tiny-even');
    await fs.mkdir(pkg);
    await fs.writeFile(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: 'tiny-even', version: '1.0.0', main: 'index.js' }),
    );
    await fs.writeFile(path.join(pkg, 'index.js'), 'module.exports = (n) => n % 2 === 0;\n');
    const env = { ...process.env, npm_config_cache: path.join(scratch, 'cache'), npm_config_offline: 'true' };
    await exec('npm', ['pack', '--silent', '--pack-destination', scratch], { cwd: pkg, env });
    const tarball = await fs.readFile(path.join(scratch, 'tiny-even-1.0.0.tgz'));
    const project = path.join(scratch, 'project');
    await fs.mkdir(path.join(project, 'vendor'), { recursive: true });
    await fs.writeFile(path.join(project, 'vendor', 'tiny-number-1.0.0.tgz'), files['vendor/tiny-number-1.0.0.tgz']);
    await fs.writeFile(path.join(project, 'vendor', 'tiny-even-1.0.0.tgz'), tarball);
    const manifest = JSON.parse(files['package.json'] as string) as { dependencies: Record<string, string> };
    manifest.dependencies['tiny-even'] = 'file:vendor/tiny-even-1.0.0.tgz';
    const changedManifest = JSON.stringify(manifest, null, 2) + '\n';
    await fs.writeFile(path.join(project, 'package.json'), changedManifest);
    await exec('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: project, env });
    return {
      files: { ...files, 'vendor/tiny-even-1.0.0.tgz': tarball },
      changed: {
        'package.json': changedManifest,
        'package-lock.json': await fs.readFile(path.join(project, 'package-lock.json'), 'utf8'),
      },
    };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
