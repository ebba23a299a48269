import * as fs from 'node:fs';
import * as path from 'node:path';
import { confinePath, ToolInputError } from '../../src/tools/confine';
import { tempDir } from '../helpers/temporal';
import { makeRepo, removeDir, tool } from './fixtures';

describe('path confinement', () => {
  let repo: string;
  let outside: string;

  beforeEach(async () => {
    repo = await makeRepo({ 'src/a.ts': 'export const a = 1;\n', 'README.md': '# readme\n' });
    outside = await tempDir('outside');
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'top secret\n');
  });
  afterEach(() => {
    removeDir(repo);
    removeDir(outside);
  });

  test('relative and absolute paths inside the workspace resolve', async () => {
    const real = fs.realpathSync(repo);
    await expect(confinePath(repo, 'src/a.ts', 'read')).resolves.toMatchObject({ rel: 'src/a.ts' });
    await expect(confinePath(repo, path.join(repo, 'src/a.ts'), 'read')).resolves.toMatchObject({
      abs: path.join(real, 'src/a.ts'),
    });
    await expect(confinePath(repo, 'src/../README.md', 'read')).resolves.toMatchObject({ rel: 'README.md' });
    await expect(confinePath(repo, undefined, 'read')).resolves.toMatchObject({ rel: '.' });
    await expect(confinePath(repo, 'new/dir/file.ts', 'write')).resolves.toMatchObject({ rel: 'new/dir/file.ts' });
  });

  test("'../x' is refused with a message naming the path and the fix", async () => {
    const err = await confinePath(repo, '../x', 'read').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolInputError);
    expect((err as Error).message).toBe(
      "path '../x' is outside the workspace; use a path relative to the repository root",
    );
    await expect(confinePath(repo, 'src/../../x', 'write')).rejects.toThrow(/outside the workspace/);
  });

  test('/etc/passwd is refused for reads and writes', async () => {
    await expect(confinePath(repo, '/etc/passwd', 'read')).rejects.toThrow(/'\/etc\/passwd' is outside the workspace/);
    const read = await tool(repo, 'read_file', { path: '/etc/passwd' });
    expect(read.ok).toBe(false);
    expect(read.content).toContain('outside the workspace');
    expect(read.content).not.toContain('root:');
    const write = await tool(repo, 'write_file', { path: '/etc/passwd', content: 'x' });
    expect(write.ok).toBe(false);
  });

  test('a symlink to / is refused', async () => {
    fs.symlinkSync('/', path.join(repo, 'root'));
    await expect(confinePath(repo, 'root/etc/passwd', 'read')).rejects.toThrow(
      /goes through the symlink 'root', which leads outside the workspace/,
    );
    const read = await tool(repo, 'read_file', { path: 'root/etc/passwd' });
    expect(read.ok).toBe(false);
    expect(read.content).not.toContain('root:');
    const list = await tool(repo, 'list_dir', { path: 'root' });
    expect(list.ok).toBe(false);
  });

  test('a symlinked directory leading outside is refused for reads and writes, also when nested', async () => {
    fs.symlinkSync(outside, path.join(repo, 'src', 'ext'));
    const read = await tool(repo, 'read_file', { path: 'src/ext/secret.txt' });
    expect(read.ok).toBe(false);
    expect(read.content).toContain("symlink 'src/ext'");
    expect(read.content).not.toContain('top secret');
    const write = await tool(repo, 'write_file', { path: 'src/ext/new/evil.txt', content: 'x' });
    expect(write.ok).toBe(false);
    expect(fs.existsSync(path.join(outside, 'new'))).toBe(false);
    const edit = await tool(repo, 'edit_file', { path: 'src/ext/secret.txt', oldText: 'top', newText: 'no' });
    expect(edit.ok).toBe(false);
    expect(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('top secret\n');
  });

  test('a symlinked file leading outside is refused; one inside is followed', async () => {
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(repo, 'link.txt'));
    fs.symlinkSync('src/a.ts', path.join(repo, 'alias.ts'));
    const write = await tool(repo, 'write_file', { path: 'link.txt', content: 'overwritten' });
    expect(write.ok).toBe(false);
    expect(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('top secret\n');
    await expect(confinePath(repo, 'alias.ts', 'read')).resolves.toMatchObject({ rel: 'src/a.ts' });
  });

  test('a dangling symlink is not written through', async () => {
    const target = path.join(outside, 'created-by-agent.txt');
    fs.symlinkSync(target, path.join(repo, 'dangling'));
    const write = await tool(repo, 'write_file', { path: 'dangling', content: 'x' });
    expect(write.ok).toBe(false);
    expect(fs.existsSync(target)).toBe(false);
  });

  test('writes into .git are refused, reads are allowed', async () => {
    for (const p of ['.git/config', '.git/hooks/pre-commit', 'sub/.git/x', './.GIT/HEAD']) {
      const result = await tool(repo, 'write_file', { path: p, content: 'x' });
      expect(result.ok).toBe(false);
      expect(result.content).toContain('inside .git');
    }
    fs.symlinkSync('.git', path.join(repo, 'gitlink'));
    const viaLink = await tool(repo, 'write_file', { path: 'gitlink/config', content: 'x' });
    expect(viaLink.ok).toBe(false);
    expect(viaLink.content).toContain('inside .git');
    expect(fs.readFileSync(path.join(repo, '.git/config'), 'utf8')).toContain('[core]');
    const read = await tool(repo, 'read_file', { path: '.git/HEAD' });
    expect(read.ok).toBe(true);
    expect(read.content).toContain('refs/heads/main');
  });
});
