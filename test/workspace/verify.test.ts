import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createWorkspaceActivities } from '../../src/activities/workspace';
import { redactor } from '../../src/core/redact';
import { chooseSandbox } from '../../src/tools/sandbox';
import { exists, fixture, userGit, type Fixture } from './fixtures';

const runId = 'run-verify';

/** True once the process is gone (a zombie nobody reaped yet counts as gone: it runs nothing). */
async function isDead(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat === '' || / Z /.test(stat);
}

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('verifyTarget', () => {
  let fx: Fixture;
  let hubPath: string;
  const saved = { ...process.env };

  beforeEach(async () => {
    fx = await fixture({ 'README.md': '# demo\n', 'test.sh': 'grep -q demo README.md && echo "all tests passed"\n' });
    hubPath = (await fx.acts.prepareHub({ runId, repo: fx.repo })).hubPath;
  });
  afterEach(async () => {
    process.env = { ...saved };
    await fx.cleanup();
  });

  const checkouts = async () =>
    (await userGit(hubPath, 'worktree', 'list', '--porcelain')).split('\n').filter((l) => l.startsWith('worktree '));

  test('a passing command on a clean checkout of the tip; the checkout is removed', async () => {
    const receipt = await fx.acts.verifyTarget({ runId, testCommand: 'sh test.sh && git status --porcelain | wc -l' });
    expect(receipt).toMatchObject({
      commit: await fx.acts.targetTip({ runId }),
      command: 'sh test.sh && git status --porcelain | wc -l',
      exitCode: 0,
      passed: true,
      timedOut: false,
    });
    expect(receipt.outputTail).toMatch(/all tests passed\n\s*0\n/); // clean: nothing uncommitted
    expect(await checkouts()).toHaveLength(1);
    // The checkout's private HOME and TMPDIR went with it.
    expect(await exists(path.join(hubPath, 'worktrees'))).toBe(false);
  });

  test('a failing command fails the receipt with its exit code and output tail', async () => {
    const receipt = await fx.acts.verifyTarget({
      runId,
      testCommand: 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; echo boom >&2; exit 3',
    });
    expect(receipt).toMatchObject({ exitCode: 3, passed: false, timedOut: false });
    expect(receipt.outputTail.length).toBeLessThan(8_200);
    expect(receipt.outputTail).toMatch(/line 1999\nboom\n$/);
    expect(receipt.outputTail).toMatch(/earlier characters cut/);
    expect(await checkouts()).toHaveLength(1);
  });

  test('verifies a given older commit', async () => {
    const base = await fx.acts.targetTip({ runId });
    const w = await fx.acts.openWorkspace({ runId, taskId: 't' });
    await fs.writeFile(path.join(w.path, 'README.md'), 'changed\n');
    await fx.acts.integrateTask({ runId, taskId: 't', title: 'break it' });
    expect((await fx.acts.verifyTarget({ runId, testCommand: 'sh test.sh' })).passed).toBe(false);
    const old = await fx.acts.verifyTarget({ runId, testCommand: 'sh test.sh', commit: base });
    expect(old).toMatchObject({ commit: base, passed: true });
    await expect(fx.acts.verifyTarget({ runId, testCommand: 'true', commit: 'nope' })).rejects.toMatchObject({
      type: 'InvalidRevision',
    });
  });

  test('a command past its timeout is killed with its children', async () => {
    // Unsandboxed, so the pids it writes are the host's (inside bubblewrap they are the sandbox's own).
    process.env.LONGRUN_SANDBOX = 'off';
    const pidFile = path.join(fx.root, 'pids');
    const receipt = await fx.acts.verifyTarget({
      runId,
      testCommand: `sleep 30 & echo $! > ${pidFile}; echo $$ >> ${pidFile}; sleep 30`,
      timeoutMs: 700,
    });
    expect(receipt).toMatchObject({ timedOut: true, passed: false, exitCode: null });
    expect(receipt.outputTail).toContain('killed after the 700 ms timeout');
    const pids = (await fs.readFile(pidFile, 'utf8')).trim().split('\n').map(Number);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(await waitFor(() => isDead(pid))).toBe(true);
    expect(await checkouts()).toHaveLength(1);
  });

  test('the command sees no API keys, tokens or secrets from the worker environment', async () => {
    process.env.OPENAI_API_KEY = 'sk-test-openai-secret';
    process.env.ANTHROPIC_API_KEY = 'sk-ant-secret';
    process.env.GITHUB_TOKEN = 'ghp_secret';
    process.env.NODE_AUTH_TOKEN = 'npm-secret';
    process.env.MY_SERVICE_PASSWORD = 'hunter2';
    const receipt = await fx.acts.verifyTarget({ runId, testCommand: 'env' });
    expect(receipt.passed).toBe(true);
    expect(receipt.outputTail).toMatch(/^PATH=/m);
    expect(receipt.outputTail).not.toMatch(/_API_KEY|TOKEN|PASSWORD/);
    expect(receipt.outputTail).not.toMatch(/secret|hunter2/);
  });

  test('activity cancellation kills the process group and removes the checkout', async () => {
    process.env.LONGRUN_SANDBOX = 'off'; // host pids, as above
    const env = new MockActivityEnvironment();
    const pidFile = path.join(fx.root, 'cancel-pids');
    const running = env.run(fx.acts.verifyTarget, {
      runId,
      testCommand: `sleep 30 & echo $! > ${pidFile}.tmp; echo $$ >> ${pidFile}.tmp; mv ${pidFile}.tmp ${pidFile}; sleep 30`,
      timeoutMs: 60_000,
    });
    expect(await waitFor(() => exists(pidFile))).toBe(true);
    env.cancel();
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    const pids = (await fs.readFile(pidFile, 'utf8')).trim().split('\n').map(Number);
    for (const pid of pids) expect(await waitFor(() => isDead(pid))).toBe(true);
    expect(await checkouts()).toHaveLength(1);
  });

  test("the test command runs in the agents' sandbox: no worker /proc, no credential stores, no network", async () => {
    const choice = await chooseSandbox({ mode: 'auto', extraEnvAllow: [] }, process.env.PATH).catch(() => null);
    if (!choice) return; // no working bubblewrap here: the refusal is tested below
    const home = path.join(fx.root, 'worker-home');
    await fs.mkdir(path.join(home, '.ssh'), { recursive: true });
    await fs.writeFile(path.join(home, '.ssh', 'id_ed25519'), 'PRIVATE-KEY-canary\n');
    process.env.HOME = home;
    const server = net.createServer((socket) => socket.end('hello from the host\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    let receipt;
    try {
      receipt = await fx.acts.verifyTarget({
        runId,
        testCommand:
          `cat /proc/${process.pid}/environ >/dev/null 2>&1 && echo saw-worker; ` +
          `cat ${home}/.ssh/id_ed25519 2>/dev/null; echo "home=$HOME"; ` +
          `touch ${fx.root}/escaped 2>/dev/null; touch made-here && echo wrote-checkout; ` +
          `(exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3) 2>/dev/null || echo no-network`,
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(receipt.passed).toBe(true);
    expect(receipt.outputTail).not.toContain('saw-worker');
    expect(receipt.outputTail).not.toContain('PRIVATE-KEY-canary');
    expect(receipt.outputTail).toMatch(/^home=\/.*longrun-sandbox\/home$/m); // a private HOME, not the worker's
    expect(receipt.outputTail).toContain('wrote-checkout');
    expect(receipt.outputTail).toContain('no-network');
    expect(receipt.outputTail).not.toContain('hello from the host');
    // Outside the checkout the root is read-only (or a private tmpfs under /tmp): nothing reaches the host.
    expect(await exists(path.join(fx.root, 'escaped'))).toBe(false);
  });

  test('without bubblewrap the default refuses to run the test command, non-retryably, naming the fix', async () => {
    const noBwrap = path.join(fx.root, 'empty-bin');
    await fs.mkdir(noBwrap);
    const acts = createWorkspaceActivities({ config: fx.config, env: { ...process.env, PATH: noBwrap } });
    await expect(acts.verifyTarget({ runId, testCommand: 'true' })).rejects.toMatchObject({
      type: 'SandboxUnavailable',
      nonRetryable: true,
      message: expect.stringMatching(/LONGRUN_SANDBOX=auto \(the default\).*bwrap is not on PATH.*LONGRUN_SANDBOX=off/),
    });
    expect(await checkouts()).toHaveLength(1);
  });

  test("the receipt carries no secret of the worker's, even when the output prints one", async () => {
    const secret = 'sk-ant-receipt-canary-31f9';
    const w = await fx.acts.openWorkspace({ runId, taskId: 'leak' });
    await fs.writeFile(path.join(w.path, 'leak.txt'), `key=${secret}\n`);
    await fx.acts.integrateTask({ runId, taskId: 'leak', title: 'commit a key' });
    const acts = createWorkspaceActivities({
      config: fx.config,
      env: { ...process.env, LONGRUN_SANDBOX: 'off' },
      redact: redactor([{ name: 'ANTHROPIC_API_KEY', value: secret }]),
    });
    const receipt = await acts.verifyTarget({ runId, testCommand: 'cat leak.txt' });
    expect(receipt.outputTail).toBe('key=[redacted:ANTHROPIC_API_KEY]\n');
  });

  test('an empty test command is a non-retryable mistake', async () => {
    await expect(fx.acts.verifyTarget({ runId, testCommand: '  ' })).rejects.toMatchObject({
      type: 'InvalidTestCommand',
      nonRetryable: true,
    });
  });
});
