import * as fs from 'node:fs';
import * as path from 'node:path';
import { executeTool } from '../../src/tools/run';
import { globToRegExp } from '../../src/tools/search';
import { MAX_READ_LINES, MAX_SEARCH_MATCHES, toolSpecs, WORKSPACE_TOOL_NAMES } from '../../src/tools/schemas';
import { tempDir } from '../helpers/temporal';
import { gitIn, makeRepo, removeDir, tool, writeFiles } from './fixtures';

const lines = (n: number, prefix = 'line') =>
  Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`).join('\n') + '\n';

describe('workspace file tools', () => {
  let repo: string;

  beforeEach(async () => {
    repo = await makeRepo({
      '.gitignore': 'node_modules/\n*.log\nbuild/\n',
      'src/a.ts': 'export const a = 1;\nexport const b = 2;\n',
      'src/nested/.gitignore': 'generated.ts\n',
      'src/nested/keep.ts': 'const needle = 1;\n',
      'long.txt': lines(3000),
    });
    writeFiles(repo, {
      'node_modules/dep/index.js': 'const needle = "ignored";\n',
      'debug.log': 'needle in a log\n',
      'build/out.js': 'needle\n',
      'src/nested/generated.ts': 'const needle = "generated";\n',
      'src/untracked.ts': 'const needle = "untracked";\n',
    });
  });
  afterEach(() => removeDir(repo));

  test('read_file returns numbered lines and honours ranges', async () => {
    const all = await tool(repo, 'read_file', { path: 'src/a.ts' });
    expect(all).toMatchObject({ ok: true, summary: 'read src/a.ts:1-2' });
    expect(all.content).toBe('src/a.ts lines 1-2 of 2\n     1\texport const a = 1;\n     2\texport const b = 2;');
    const range = await tool(repo, 'read_file', { path: 'long.txt', startLine: 10, endLine: 12 });
    expect(range.content).toBe('long.txt lines 10-12 of 3000\n    10\tline 10\n    11\tline 11\n    12\tline 12');
    const past = await tool(repo, 'read_file', { path: 'src/a.ts', startLine: 5 });
    expect(past).toMatchObject({ ok: false });
    expect(past.content).toContain('has 2 lines');
    const missing = await tool(repo, 'read_file', { path: 'src/nope.ts' });
    expect(missing.content).toContain("file 'src/nope.ts' does not exist");
    const dir = await tool(repo, 'read_file', { path: 'src' });
    expect(dir.content).toContain('is a directory; use list_dir');
  });

  test('read_file caps long files and says where to continue', async () => {
    const result = await tool(repo, 'read_file', { path: 'long.txt' });
    expect(result.ok).toBe(true);
    expect(result.content).toContain(`lines 1-${MAX_READ_LINES} of 3000`);
    expect(result.content).toContain(`continue with startLine=${MAX_READ_LINES + 1}`);
    expect(result.content).not.toContain(`line ${MAX_READ_LINES + 1}\n`);
    const rest = await tool(repo, 'read_file', { path: 'long.txt', startLine: MAX_READ_LINES + 1 });
    expect(rest.content).toContain('  3000\tline 3000');
    expect(rest.content).not.toContain('stopped');
  });

  test('write_file creates parent directories and reports create vs replace', async () => {
    const created = await tool(repo, 'write_file', { path: 'deep/new/dir/file.ts', content: 'x\ny\n' });
    expect(created).toMatchObject({ ok: true, summary: 'created deep/new/dir/file.ts' });
    expect(fs.readFileSync(path.join(repo, 'deep/new/dir/file.ts'), 'utf8')).toBe('x\ny\n');
    const replaced = await tool(repo, 'write_file', { path: 'src/a.ts', content: 'new\n' });
    expect(replaced.content).toContain('replaced src/a.ts (1 line');
    const onDir = await tool(repo, 'write_file', { path: 'src', content: 'x' });
    expect(onDir.ok).toBe(false);
  });

  test('edit_file replaces exactly one occurrence, literally', async () => {
    const result = await tool(repo, 'edit_file', {
      path: 'src/a.ts',
      oldText: 'const b = 2',
      newText: 'const b = "$&$1"',
    });
    expect(result.ok).toBe(true);
    expect(result.summary).toBe('edited src/a.ts:2');
    expect(result.content).toContain('     2\texport const b = "$&$1";');
    expect(fs.readFileSync(path.join(repo, 'src/a.ts'), 'utf8')).toBe(
      'export const a = 1;\nexport const b = "$&$1";\n',
    );
  });

  test('edit_file fails clearly when oldText is missing', async () => {
    const result = await tool(repo, 'edit_file', { path: 'src/a.ts', oldText: 'const c = 3', newText: 'x' });
    expect(result.ok).toBe(false);
    expect(result.content).toContain('oldText was not found in src/a.ts');
    const indented = await tool(repo, 'edit_file', {
      path: 'src/a.ts',
      oldText: '  export const b = 2;',
      newText: 'x',
    });
    expect(indented.content).toContain('except for indentation/trailing spaces starts at line 2');
    expect(fs.readFileSync(path.join(repo, 'src/a.ts'), 'utf8')).toBe('export const a = 1;\nexport const b = 2;\n');
  });

  test('edit_file refuses a non-unique oldText and says how many matches and where', async () => {
    const result = await tool(repo, 'edit_file', { path: 'src/a.ts', oldText: 'export const', newText: 'const' });
    expect(result.ok).toBe(false);
    expect(result.content).toContain('oldText occurs 2 times in src/a.ts (at lines 1, 2)');
    expect(result.content).toContain('Include more surrounding lines');
  });

  test('list_dir respects .gitignore (nested too) and skips .git', async () => {
    const result = await tool(repo, 'list_dir', { depth: 3 });
    expect(result.ok).toBe(true);
    const entries = result.content.split('\n').slice(1);
    expect(entries).toEqual(
      expect.arrayContaining(['src/', 'src/a.ts', 'src/nested/', 'src/nested/keep.ts', 'src/untracked.ts', 'long.txt']),
    );
    for (const hidden of ['node_modules/', 'debug.log', 'build/', 'src/nested/generated.ts', '.git/']) {
      expect(entries).not.toContain(hidden);
    }
    const shallow = await tool(repo, 'list_dir', { path: 'src', depth: 1 });
    expect(shallow.content.split('\n').slice(1)).toEqual(['src/a.ts', 'src/nested/', 'src/untracked.ts']);
  });

  test('search finds tracked and untracked files, skipping ignored ones', async () => {
    const result = await tool(repo, 'search', { pattern: 'needle' });
    expect(result.ok).toBe(true);
    expect(result.content).toContain('src/nested/keep.ts:1: const needle = 1;');
    expect(result.content).toContain('src/untracked.ts:1:');
    for (const ignored of ['node_modules', 'debug.log', 'build/out.js', 'generated.ts']) {
      expect(result.content).not.toContain(ignored);
    }
    expect(result.summary).toBe('search /needle/: 2 matches');
  });

  test('search narrows by path and glob and reports bad regexes', async () => {
    writeFiles(repo, { 'src/deep/x.test.ts': 'needle\n', 'src/deep/x.js': 'needle\n' });
    const byGlob = await tool(repo, 'search', { pattern: 'needle', glob: '*.test.ts' });
    expect(byGlob.content).toContain('src/deep/x.test.ts:1:');
    expect(byGlob.content).not.toContain('x.js');
    const byPath = await tool(repo, 'search', { pattern: 'need+le', path: 'src/deep', glob: '**/*.{js,ts}' });
    expect(byPath.content).toContain('2 matches in 2 files');
    const none = await tool(repo, 'search', { pattern: 'absent_[x]yz' });
    expect(none.content).toContain('No matches');
    const bad = await tool(repo, 'search', { pattern: '(unclosed' });
    expect(bad.ok).toBe(false);
    expect(bad.content).toContain('not a valid JavaScript regular expression');
  });

  test('search caps the number of matches and says so', async () => {
    const result = await tool(repo, 'search', { pattern: '^line \\d+$', path: 'long.txt' });
    expect(result.content).toContain('3000 matches in 1 file');
    expect(result.content).toContain(`[${3000 - MAX_SEARCH_MATCHES} more matches not shown`);
  });

  test('outside a git repository list_dir and search still skip .git and work', async () => {
    const plain = await tempDir('plain');
    try {
      writeFiles(plain, { 'x/y.txt': 'needle\n', '.git/objects/z': 'needle\n' });
      const list = await tool(plain, 'list_dir', {});
      expect(list.content.split('\n').slice(1)).toEqual(['x/', 'x/y.txt']);
      const found = await tool(plain, 'search', { pattern: 'needle' });
      expect(found.content).toBe('1 match in 1 file:\nx/y.txt:1: needle');
    } finally {
      removeDir(plain);
    }
  });

  test('globToRegExp', () => {
    expect(globToRegExp('src/**/*.ts').test('src/a.ts')).toBe(true);
    expect(globToRegExp('src/**/*.ts').test('src/x/y/a.ts')).toBe(true);
    expect(globToRegExp('*.ts').test('x/a.ts')).toBe(false);
    expect(globToRegExp('*.{js,ts}').test('a.js')).toBe(true);
    expect(globToRegExp('a.c').test('abc')).toBe(false);
  });

  test('git_status and git_diff show the working tree state', async () => {
    const clean = await makeRepo({ 'a.txt': 'one\n' });
    try {
      expect((await tool(clean, 'git_status', {})).content).toContain('(working tree clean)');
      expect((await tool(clean, 'git_diff', {})).content).toContain('No unstaged changes');
      fs.writeFileSync(path.join(clean, 'a.txt'), 'two\n');
      fs.writeFileSync(path.join(clean, 'b.txt'), 'new\n');
      const status = await tool(clean, 'git_status', {});
      expect(status.content).toContain(' M a.txt');
      expect(status.content).toContain('?? b.txt');
      expect(status.summary).toBe('git status: 2 changed');
      const diff = await tool(clean, 'git_diff', { path: 'a.txt' });
      expect(diff.content).toContain('-one\n+two');
      expect(diff.summary).toBe('git diff: 1 file (unstaged)');
      gitIn(clean, 'add', 'a.txt');
      expect((await tool(clean, 'git_diff', { staged: true })).content).toContain('+two');
    } finally {
      removeDir(clean);
    }
  });
});

describe('executeTool', () => {
  let repo: string;
  beforeEach(async () => {
    repo = await makeRepo({ 'a.txt': 'a\n' });
  });
  afterEach(() => removeDir(repo));

  test('invalid arguments say which fields are expected', async () => {
    const result = await tool(repo, 'read_file', { file: 'a.txt', startLine: 'ten' });
    expect(result.ok).toBe(false);
    expect(result.content).toContain('invalid arguments for read_file');
    expect(result.content).toContain('- path:');
    expect(result.content).toContain(
      'expected fields: path (string), startLine (integer, optional), endLine (integer, optional)',
    );
  });

  test('an unknown tool lists the available ones', async () => {
    const result = await tool(repo, 'delete_everything', {});
    expect(result).toMatchObject({ ok: false, summary: 'unknown tool delete_everything' });
    expect(result.content).toBe(`unknown tool 'delete_everything'; available: ${WORKSPACE_TOOL_NAMES.join(', ')}`);
  });

  test('a read-only workspace refuses writes and commands but allows reads', async () => {
    const ro = { path: repo, readOnly: true };
    for (const [name, args] of [
      ['write_file', { path: 'b.txt', content: 'x' }],
      ['edit_file', { path: 'a.txt', oldText: 'a', newText: 'b' }],
      ['run_command', { command: 'touch c.txt' }],
    ] as const) {
      const result = await executeTool(name, args, ro);
      expect(result.ok).toBe(false);
      expect(result.content).toContain('read-only checkout');
    }
    expect(fs.existsSync(path.join(repo, 'b.txt'))).toBe(false);
    expect(fs.existsSync(path.join(repo, 'c.txt'))).toBe(false);
    expect((await executeTool('read_file', { path: 'a.txt' }, ro)).ok).toBe(true);
  });

  test('a missing workspace is an infrastructure fault and throws', async () => {
    await expect(tool(path.join(repo, 'gone'), 'list_dir', {})).rejects.toThrow(/does not exist/);
  });

  test('tool specs: JSON Schema per tool, planners get the read-only subset', () => {
    const worker = toolSpecs('worker');
    expect(worker.map((t) => t.name)).toEqual(WORKSPACE_TOOL_NAMES);
    const edit = worker.find((t) => t.name === 'edit_file');
    expect(edit?.parameters).toMatchObject({
      type: 'object',
      required: ['path', 'oldText', 'newText'],
      properties: { oldText: { type: 'string', minLength: 1 } },
    });
    expect(edit?.parameters).not.toHaveProperty('$schema');
    expect(toolSpecs('planner').map((t) => t.name)).toEqual(['read_file', 'list_dir', 'search']);
    for (const spec of worker) expect(spec.description.length).toBeGreaterThan(40);
  });
});
