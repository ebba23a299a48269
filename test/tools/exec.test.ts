import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { execCommand } from '../../src/tools/exec';
import { HeadTailBuffer } from '../../src/tools/output';
import {
  chooseSandbox,
  commandEnv,
  describeSandbox,
  sandboxSettingsFromEnv,
  SandboxUnavailableError,
} from '../../src/tools/sandbox';
import { tempDir } from '../helpers/temporal';
import { makeRepo, processAlive, processesWith, removeDir, tool, waitFor } from './fixtures';

const SECRETS = {
  OPENAI_API_KEY: 'sk-openai',
  ANTHROPIC_API_KEY: 'sk-ant',
  GITHUB_TOKEN: 'ghp_x',
  AWS_SECRET_ACCESS_KEY: 'aws',
};

describe('run_command', () => {
  let repo: string;
  const saved = { ...process.env };

  beforeEach(async () => {
    repo = await makeRepo({ 'a.txt': 'a\n' });
  });
  afterEach(() => {
    removeDir(repo);
    for (const name of Object.keys(SECRETS)) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  test("'env' shows no provider keys, tokens or secrets, even when allow-listed", async () => {
    Object.assign(process.env, SECRETS);
    const sandbox = sandboxSettingsFromEnv({
      LONGRUN_SANDBOX: 'off',
      LONGRUN_SANDBOX_ENV_ALLOW: 'FOO_SETTING,MY_API_KEY',
    });
    const viaProcessEnv = await tool(repo, 'run_command', { command: 'env' }, { sandbox });
    const explicit = await tool(
      repo,
      'run_command',
      { command: 'env' },
      {
        sandbox,
        env: { ...process.env, FOO_SETTING: 'visible', MY_API_KEY: 'hidden', UNLISTED: 'nope' },
      },
    );
    for (const result of [viaProcessEnv, explicit]) {
      expect(result.ok).toBe(true);
      expect(result.content).toMatch(/^PATH=/m);
      expect(result.content).toMatch(/^CI=true$/m);
      expect(result.content).toMatch(/^TERM=dumb$/m);
      expect(result.content).not.toMatch(/API_KEY|TOKEN|SECRET|sk-openai|sk-ant|ghp_x/);
    }
    expect(explicit.content).toMatch(/^FOO_SETTING=visible$/m);
    expect(explicit.content).not.toContain('UNLISTED');
    // HOME is private (inside the git dir), not the worker's.
    const home = /^HOME=(.*)$/m.exec(explicit.content)?.[1];
    expect(home).toContain(path.join('.git', 'longrun-sandbox'));
  });

  test('commandEnv strips secret-looking names that were allow-listed by mistake', () => {
    const env = commandEnv(
      { PATH: '/bin', DB_PASSWORD: 'p', SESSION_TOKEN: 't', GCP_CREDENTIALS: 'c', OK: '1' },
      ['DB_PASSWORD', 'SESSION_TOKEN', 'GCP_CREDENTIALS', 'OK'],
      { home: '/h', tmp: '/t' },
    );
    expect(env).toMatchObject({ PATH: '/bin', OK: '1', HOME: '/h', TMPDIR: '/t' });
    expect(Object.keys(env).filter((k) => /PASSWORD|TOKEN|CREDENTIAL/.test(k))).toEqual([]);
  });

  test('a non-zero exit code is returned in the text, with stderr merged; stdin is empty', async () => {
    const result = await tool(repo, 'run_command', { command: 'cat; echo out; echo err >&2; exit 3' });
    expect(result.ok).toBe(false);
    expect(result.summary).toMatch(/^exit 3: cat; echo out/);
    expect(result.content).toMatch(/^\$ cat; echo out; echo err >&2; exit 3\n\[exit 3, [\d.]+s\]\n/);
    expect(result.content).toContain('out');
    expect(result.content).toContain('err');
  });

  test('output is capped to head + tail with the cut marked', async () => {
    const result = await execCommand("printf 'HEAD'; head -c 100000 /dev/zero | tr '\\0' x; printf 'TAIL'", {
      cwd: repo,
      timeoutMs: 30_000,
      privateBase: path.join(repo, '.git', 'private'),
    });
    expect(result.exitCode).toBe(0);
    expect(result.outputBytes).toBe(100_008);
    expect(result.output.startsWith('HEAD')).toBe(true);
    expect(result.output.endsWith('TAIL')).toBe(true);
    expect(result.output).toContain(`\n[... ${100_008 - 16 * 1024} bytes cut ...]\n`);
  });

  test('HeadTailBuffer keeps exact head and tail across many chunks', () => {
    const buffer = new HeadTailBuffer(5, 5);
    for (const c of '0123456789abcdefghij') buffer.push(Buffer.from(c));
    expect(buffer.toString()).toBe('01234\n[... 10 bytes cut ...]\nfghij');
    const small = new HeadTailBuffer(5, 5);
    small.push(Buffer.from('hello world'));
    expect(small.toString()).toBe('hello\n[... 1 bytes cut ...]\nworld');
    const fits = new HeadTailBuffer(5, 5);
    fits.push(Buffer.from('0123456789'));
    expect(fits.toString()).toBe('0123456789');
  });

  test('a command past its timeout is killed together with its children', async () => {
    const result = await tool(repo, 'run_command', {
      command: 'sleep 100 & echo $! > child.pid; wait',
      timeoutSeconds: 1,
    });
    expect(result.ok).toBe(false);
    expect(result.content).toContain('timed out after 1s (process group killed)');
    const childPid = Number(fs.readFileSync(path.join(repo, 'child.pid'), 'utf8'));
    expect(childPid).toBeGreaterThan(0);
    expect(await waitFor(() => !processAlive(childPid))).toBe(true);
  });

  test('an abort signal kills the process group', async () => {
    const controller = new AbortController();
    const pidFile = path.join(repo, 'child.pid');
    const running = execCommand('sleep 100 & echo $! > child.pid; wait', {
      cwd: repo,
      timeoutMs: 60_000,
      signal: controller.signal,
      privateBase: path.join(repo, '.git', 'private'),
    });
    expect(await waitFor(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim() !== '')).toBe(true);
    const childPid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(processAlive(childPid)).toBe(true);
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ aborted: true, timedOut: false, exitCode: null });
    expect(await waitFor(() => !processAlive(childPid))).toBe(true);
  });

  test('background processes do not outlive a command that exits', async () => {
    const marker = `sleep 31${process.pid % 1000}7`;
    const result = await tool(repo, 'run_command', { command: `${marker} >/dev/null 2>&1 & ${marker} & echo started` });
    expect(result.ok).toBe(true);
    expect(result.content).toContain('started');
    expect(await waitFor(() => processesWith(marker).length === 0)).toBe(true);
  });
});

/** bubblewrap's verdict on this host: a path when it works here, else null (the tests then check the refusal). */
async function workingBwrap(): Promise<string | null> {
  try {
    const choice = await chooseSandbox({ mode: 'auto', extraEnvAllow: [] }, process.env.PATH);
    return choice.kind === 'bwrap' ? choice.bwrapPath : null;
  } catch {
    return null;
  }
}

describe('bubblewrap sandbox', () => {
  let repo: string;
  let outside: string;

  beforeEach(async () => {
    repo = await makeRepo({ 'a.txt': 'a\n' });
    outside = await tempDir('outside');
  });
  afterEach(() => {
    removeDir(repo);
    removeDir(outside);
  });

  test('bwrap missing: auto (the default) and bwrap refuse with the fix, only off runs unsandboxed', async () => {
    const missing = '/nonexistent/bin/bwrap';
    expect(sandboxSettingsFromEnv({}).mode).toBe('auto');
    for (const mode of ['auto', 'bwrap'] as const) {
      const refused = tool(
        repo,
        'run_command',
        { command: 'touch made-here' },
        { sandbox: { mode, extraEnvAllow: [], bwrapPath: missing } },
      );
      await expect(refused).rejects.toThrow(SandboxUnavailableError);
      await expect(refused).rejects.toThrow(
        new RegExp(
          `LONGRUN_SANDBOX=${mode}.*only inside bubblewrap, but bwrap at /nonexistent/bin/bwrap .*\\. Fix: install bubblewrap.*or set LONGRUN_SANDBOX=off`,
        ),
      );
    }
    expect(fs.existsSync(path.join(repo, 'made-here'))).toBe(false);
    const off = await tool(
      repo,
      'run_command',
      { command: 'touch made-here' },
      { sandbox: { mode: 'off', extraEnvAllow: [] } },
    );
    expect(off.ok).toBe(true);
    expect(off.content).not.toContain('sandboxed');
    expect(fs.existsSync(path.join(repo, 'made-here'))).toBe(true);
    await expect(chooseSandbox({ mode: 'off', extraEnvAllow: [] }, process.env.PATH)).resolves.toEqual({
      kind: 'none',
      reason: 'LONGRUN_SANDBOX=off',
    });
    expect(() => sandboxSettingsFromEnv({ LONGRUN_SANDBOX: 'yes' })).toThrow(/LONGRUN_SANDBOX='yes' is not valid/);
    // No bwrap on PATH (an empty directory) either: the worker's start-up line says runs will be refused, and why.
    await expect(describeSandbox({ mode: 'auto', extraEnvAllow: [] }, outside)).resolves.toEqual({
      ok: false,
      message: expect.stringMatching(
        /^runs will be refused: LONGRUN_SANDBOX=auto \(the default\) .* but bwrap is not on PATH\. Fix:/,
      ),
    });
    await expect(describeSandbox({ mode: 'off', extraEnvAllow: [] }, undefined)).resolves.toMatchObject({
      ok: true,
      message: expect.stringContaining('UNSANDBOXED'),
    });
  });

  test('bwrap present but broken (no user namespaces): the call fails with its error', async () => {
    const fake = path.join(outside, 'bwrap');
    fs.writeFileSync(fake, '#!/bin/sh\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n', {
      mode: 0o755,
    });
    for (const mode of ['auto', 'bwrap'] as const) {
      await expect(
        tool(repo, 'run_command', { command: 'echo ran' }, { sandbox: { mode, extraEnvAllow: [], bwrapPath: fake } }),
      ).rejects.toThrow(/does not work on this host: bwrap: No permissions/);
    }
  });

  test('with bwrap on this host: no network (unless granted), read-only root, worktree writable', async () => {
    const bwrap = await workingBwrap();
    const server = net.createServer((socket) => socket.end('hello from the host\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const command =
        `echo inside > in-worktree.txt && git add in-worktree.txt && echo staged; ` +
        `touch ${outside}/escaped.txt 2>/dev/null && echo wrote-outside; ` +
        `(exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3) 2>/dev/null || echo no-network`;
      const run = tool(repo, 'run_command', { command }, { sandbox: { mode: 'auto', extraEnvAllow: [] } });
      if (!bwrap) {
        await expect(run).rejects.toThrow(SandboxUnavailableError);
        return;
      }
      const result = await run;
      expect(result.content).toMatch(/^staged$/m);
      expect(fs.readFileSync(path.join(repo, 'in-worktree.txt'), 'utf8')).toBe('inside\n');
      expect(result.content).toContain('sandboxed');
      expect(result.content).toMatch(/^no-network$/m);
      expect(result.content).not.toContain('hello from the host');
      expect(fs.existsSync(path.join(outside, 'escaped.txt'))).toBe(false);
      // A setup step may be granted the network; it is still confined otherwise.
      const online = await execCommand(command, {
        cwd: repo,
        timeoutMs: 30_000,
        sandbox: { mode: 'auto', extraEnvAllow: [] },
        privateBase: path.join(repo, '.git', 'private'),
        network: true,
      });
      expect(online.sandboxed).toBe(true);
      expect(online.output).toContain('hello from the host');
      expect(fs.existsSync(path.join(outside, 'escaped.txt'))).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("inside the sandbox an agent can commit, but not change its git directory's config or hooks", async () => {
    const bwrap = await workingBwrap();
    if (!bwrap) return; // the refusal without bubblewrap is tested above
    const result = await tool(
      repo,
      'run_command',
      {
        command:
          'echo b > b.txt && git add b.txt && git commit -qm b && echo committed; ' +
          'git config core.fsmonitor /tmp/x 2>/dev/null && echo wrote-config; ' +
          'echo "#!/bin/sh" > .git/hooks/post-commit 2>/dev/null && echo wrote-hook',
      },
      { sandbox: { mode: 'auto', extraEnvAllow: [] } },
    );
    expect(result.content).toContain('sandboxed');
    expect(result.content).toMatch(/^committed$/m);
    expect(result.content).not.toMatch(/^wrote-config$/m);
    expect(result.content).not.toMatch(/^wrote-hook$/m);
    expect(fs.existsSync(path.join(repo, '.git', 'hooks', 'post-commit'))).toBe(false);
    expect(fs.readFileSync(path.join(repo, '.git', 'config'), 'utf8')).not.toContain('fsmonitor');
  });

  test("the worker's credential stores and processes are hidden inside the sandbox", async () => {
    const bwrap = await workingBwrap();
    const home = await tempDir('home');
    try {
      fs.mkdirSync(path.join(home, '.aws'));
      fs.writeFileSync(path.join(home, '.aws', 'credentials'), 'aws_secret_access_key=abc\n');
      fs.writeFileSync(path.join(home, '.npmrc'), '//registry/:_authToken=xyz\n');
      const command = `cat ${home}/.aws/credentials ${home}/.npmrc; cat /proc/${process.pid}/environ && echo saw-worker; echo done`;
      const run = (mode: 'auto' | 'off') =>
        execCommand(command, {
          cwd: repo,
          timeoutMs: 30_000,
          sandbox: { mode, extraEnvAllow: [] },
          workerHome: home,
          privateBase: path.join(repo, '.git', 'private'),
        });
      if (bwrap) {
        const result = await run('auto');
        expect(result.output).toContain('done');
        expect(result.sandboxed).toBe(true);
        expect(result.output).not.toContain('aws_secret_access_key');
        expect(result.output).not.toContain('_authToken');
        expect(result.output).not.toContain('saw-worker');
      }
      // Unsandboxed (the explicit opt-in) only the environment is filtered; files and /proc stay readable (documented).
      const open = await run('off');
      expect(open.sandboxed).toBe(false);
      expect(open.output).toContain('aws_secret_access_key');
      expect(open.output).toContain('saw-worker');
    } finally {
      removeDir(home);
    }
  });

  test('timeout kills every process of the command, sandboxed or not; the run limit caps the model', async () => {
    const marker = `sleep 42${process.pid % 1000}1`;
    const mode = (await workingBwrap()) ? 'auto' : 'off';
    const result = await tool(
      repo,
      'run_command',
      { command: `${marker} & ${marker} & wait`, timeoutSeconds: 600 },
      { sandbox: { mode, extraEnvAllow: [] }, commandTimeoutMs: 1000 },
    );
    expect(result.content).toContain('timed out after 1s');
    expect(result.content).toContain('timeoutSeconds 600 reduced to the limit of 1s');
    expect(await waitFor(() => processesWith(marker).length === 0)).toBe(true);
  });
});
