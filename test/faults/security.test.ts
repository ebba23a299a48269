import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { paths, safeName } from '../../src/config';
import type { ChatMessage } from '../../src/core/types';
import { SAMPLE_FILES } from '../../src/demo/sample-repo';
import { teamScenario } from '../../src/demo/team-scenario';
import { startSimulator, type Simulator } from '../../src/sim';
import type { ScenarioFn, SimToolCallSpec } from '../../src/sim/types';
import { temporalCli, testEnv, uniqueTaskQueue } from '../helpers/temporal';
import { git, report, resultWithin, rmrf, runIdFor, sampleRepo, startRunWithCli, teamInput } from './helpers/runs';
import { who } from './helpers/scenarios';
import { alive, WorkerProcess } from './helpers/worker-process';

/**
 * Security after a full run: the worker's secrets never reach workflow histories, agent commands, transcripts, model
 * requests or logs — not even when code an agent wrote goes looking for them (the canary scenario: a scripted worker
 * rewrites test.js to scan /proc/*\/environ and read ~/.ssh/id_* and ~/.npmrc, then the worker's run_command and the
 * cycle's verification run it) — with bubblewrap, and without it (refused by default; with the explicit opt-in
 * LONGRUN_SANDBOX=off the scan finds them and redaction keeps them out of everything stored). Also: a scripted
 * worker's path escapes and symlinks are refused; a command past its timeout dies with its children.
 */
const SECRETS: Record<string, string> = {
  OPENAI_API_KEY: 'sk-LEAKCHECK-openai-5b1e0c9d',
  ANTHROPIC_API_KEY: 'sk-ant-LEAKCHECK-anthropic-8f2a7d41',
  OPENAI_COMPATIBLE_API_KEY: 'LEAKCHECK-compatible-3c9e77',
  ACME_SERVICE_API_KEY: 'LEAKCHECK-acme-71d0aa',
};
/** Canaries in the worker's credential stores (its HOME is a fake one holding only these). */
const FILE_SECRETS: Record<string, { file: string; content: string; value: string }> = {
  '~/.ssh/id_ed25519': {
    file: '.ssh/id_ed25519',
    content:
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-LEAKCHECK-ssh-9d3f1a\n-----END OPENSSH PRIVATE KEY-----\n',
    value: 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-LEAKCHECK-ssh-9d3f1a',
  },
  '~/.npmrc': {
    file: '.npmrc',
    content: '//registry.npmjs.org/:_authToken=npm_LEAKCHECK_npmrc_4e7b20c1\n',
    value: 'npm_LEAKCHECK_npmrc_4e7b20c1',
  },
};
const CANARIES: Record<string, string> = {
  ...SECRETS,
  ...Object.fromEntries(Object.entries(FILE_SECRETS).map(([name, f]) => [name, f.value])),
};
const RUN_TIMEOUT_MS = 6 * 60_000;
const PROBED_TASK = 'Add clamp()';

/**
 * test.js as the probing worker rewrites it: first what hostile code would do — every process's environment, every
 * HOME it names, their SSH keys and .npmrc — printing only what holds a canary (so the machine's real secrets are never
 * copied anywhere), then the project's tests as before.
 */
const SCAN_TEST = [
  '{',
  "  const fs = require('fs');",
  '  const found = [];',
  '  const homes = new Set([process.env.HOME]);',
  "  for (const pid of fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n))) {",
  "    let environ = '';",
  '    try {',
  "      environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');",
  '    } catch {}',
  "    for (const kv of environ.split('\\0')) {",
  "      if (kv.startsWith('HOME=')) homes.add(kv.slice(5));",
  "      if (kv.includes('LEAKCHECK')) found.push(`environ of ${pid}: ${kv}`);",
  '    }',
  '  }',
  '  for (const home of homes) {',
  '    let keys = [];',
  '    try {',
  "      keys = fs.readdirSync(`${home}/.ssh`).filter((n) => n.startsWith('id_')).map((n) => `${home}/.ssh/${n}`);",
  '    } catch {}',
  '    for (const file of [...keys, `${home}/.npmrc`]) {',
  '      try {',
  "        const text = fs.readFileSync(file, 'utf8');",
  "        if (text.includes('LEAKCHECK')) found.push(`${file}: ${text}`);",
  '      } catch {}',
  '    }',
  '  }',
  "  console.log(found.length ? `FOUND\\n${found.join('\\n')}` : 'FOUND nothing');",
  '}',
  SAMPLE_FILES['test.js'],
].join('\n');

/** The worker's fake HOME: the canary credential stores and nothing else. */
function fakeHome(): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-faults-userhome-'));
  for (const f of Object.values(FILE_SECRETS)) {
    fs.mkdirSync(path.dirname(path.join(home, f.file)), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(home, f.file), f.content, { mode: 0o600 });
  }
  return home;
}

/** The canary scan: rewrite test.js (merged with the task, so the verification runs it too), then run it. */
const SCAN_PROBES: SimToolCallSpec[][] = [
  [{ id: 'probe_write_scan', name: 'write_file', arguments: { path: 'test.js', content: SCAN_TEST } }],
  [{ id: 'probe_scan', name: 'run_command', arguments: { command: 'node test.js' } }],
];

/** The probes one worker runs before its real work, one per turn; results are found by call id. */
function probes(pidFile: string): SimToolCallSpec[][] {
  const spawnTree =
    `echo $$ >> ${pidFile}; sleep 600 & echo $! >> ${pidFile}; ` +
    `bash -c 'sleep 600 & echo $! >> ${pidFile}; wait' & echo $! >> ${pidFile}; wait`;
  return [
    ...SCAN_PROBES,
    [{ id: 'probe_env', name: 'run_command', arguments: { command: 'env' } }],
    [
      { id: 'probe_dotdot', name: 'read_file', arguments: { path: '../../../../../../../etc/passwd' } },
      { id: 'probe_abs', name: 'read_file', arguments: { path: '/etc/hostname' } },
      { id: 'probe_write_out', name: 'write_file', arguments: { path: '../escaped.txt', content: 'out' } },
      { id: 'probe_write_git', name: 'write_file', arguments: { path: '.git/hooks/pre-commit', content: 'exit 0' } },
    ],
    [
      {
        id: 'probe_links',
        name: 'run_command',
        arguments: { command: 'ln -s /etc etc-link && ln -s /etc/hostname host-link' },
      },
    ],
    [
      { id: 'probe_read_link', name: 'read_file', arguments: { path: 'host-link' } },
      { id: 'probe_write_link', name: 'write_file', arguments: { path: 'etc-link/evil.conf', content: 'x' } },
      { id: 'probe_list_link', name: 'list_dir', arguments: { path: 'etc-link' } },
    ],
    [{ id: 'probe_unlink', name: 'run_command', arguments: { command: 'rm etc-link host-link' } }],
    [{ id: 'probe_timeout', name: 'run_command', arguments: { command: spawnTree, timeoutSeconds: 2 } }],
  ];
}

/** The team, with one worker running the probes first (its later turns are the team's, shifted). */
function probingTeam(steps: SimToolCallSpec[][]): ScenarioFn {
  const base = teamScenario();
  return (req) => {
    const w = who(req);
    if (w.role !== 'worker' || !w.title.startsWith(PROBED_TASK)) return base(req);
    if (req.turn < steps.length) return { toolCalls: steps[req.turn] };
    return base({ ...req, turn: req.turn - steps.length });
  };
}

/** Where a secret shows up in `text`, also inside base64 payloads (histories carry payloads base64-encoded). */
function leaks(text: string, where: string): string[] {
  const found: string[] = [];
  const check = (s: string, how: string) => {
    for (const [name, value] of Object.entries(CANARIES))
      if (s.includes(value)) found.push(`${name} in ${where}${how}`);
  };
  check(text, '');
  for (const m of text.matchAll(/"([A-Za-z0-9+/]{16,}={0,2})"/g))
    check(Buffer.from(m[1], 'base64').toString('utf8'), ' (base64 payload)');
  return found;
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
}

/** A file's text; a gzipped one (an archived transcript, `<name>.jsonl.gz`) decompressed, so leaks in it are found. */
function readText(file: string): string {
  const bytes = fs.readFileSync(file);
  return file.endsWith('.gz') ? zlib.gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
}

/** The probed worker's tool results, by call id, from its transcript on disk (live entries or the archive). */
function probeResults(home: string, runId: string): Map<string, Extract<ChatMessage, { role: 'tool' }>> {
  const results = new Map<string, Extract<ChatMessage, { role: 'tool' }>>();
  for (const file of filesUnder(path.join(paths.artifacts(home), 'transcripts'))) {
    const archived = file.endsWith('.jsonl.gz');
    const name = archived ? path.basename(file) : path.basename(path.dirname(file));
    if (!name.startsWith(safeName(runId))) continue;
    const entries = archived ? readText(file).split('\n').filter(Boolean) : [readText(file)];
    for (const entry of entries) {
      const m = JSON.parse(entry) as ChatMessage | null;
      if (m?.role === 'tool' && m.toolCallId?.startsWith('probe_')) results.set(m.toolCallId, m);
    }
  }
  return results;
}

/**
 * Every canary found after a run: in every history of the run's tree (all runs, continued-as-new included; payloads
 * decoded), every file under LONGRUN_HOME but the hub (transcripts, artifacts), every request body the simulator
 * received, and the worker's log. `needles` are also looked for in the histories (found or not, by needle).
 */
async function leaksAfterRun(
  env: TestWorkflowEnvironment,
  runId: string,
  home: string,
  sim: Simulator,
  log: string,
  needles: string[] = [],
): Promise<{ found: string[]; histories: number; seen: Record<string, boolean> }> {
  const found: string[] = [];
  const seen: Record<string, boolean> = Object.fromEntries(needles.map((n) => [n, false]));
  let histories = 0;
  for await (const wf of env.client.workflow.list({
    query: `WorkflowId = "${runId}" OR WorkflowId STARTS_WITH "${runId}/"`,
  })) {
    const json = execFileSync(
      temporalCli(),
      ['workflow', 'show', '--address', env.address, '-w', wf.workflowId, '-r', wf.runId, '--output', 'json'],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
    );
    histories++;
    found.push(...leaks(json, `history of ${wf.workflowId} (${wf.runId})`));
    for (const n of needles) seen[n] ||= leaksCanary(json, n);
  }
  for (const file of filesUnder(home).filter((f) => !f.includes(`${path.sep}hubs${path.sep}`))) {
    found.push(...leaks(readText(file), path.relative(home, file)));
  }
  sim.requests.forEach((r, i) => found.push(...leaks(JSON.stringify(r.body ?? null), `model request ${i}`)));
  found.push(...leaks(log, 'worker log'));
  return { found, histories, seen };
}

/** A PATH with everything /usr/bin and /bin hold except bwrap: bubblewrap is absent for the worker. */
function pathWithoutBwrap(scratch: string): string {
  const bin = path.join(scratch, 'bin-without-bwrap');
  fs.mkdirSync(bin);
  for (const name of fs.readdirSync('/usr/bin')) {
    if (name !== 'bwrap') fs.symlinkSync(path.join('/usr/bin', name), path.join(bin, name));
  }
  const rest = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d && !fs.existsSync(path.join(d, 'bwrap')));
  return [bin, ...rest].join(path.delimiter);
}

describe('security: secrets, path confinement, command timeouts (full runs, child workers)', () => {
  let env: TestWorkflowEnvironment;
  let scratch: string;
  const cleanup: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    env = await testEnv();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-faults-sec-'));
  });

  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
    await env?.teardown();
    rmrf(scratch);
  });

  /** A simulator playing the team with the probing worker, and a worker process with the canaries and `extra` env. */
  async function setup(name: string, steps: SimToolCallSpec[][], extra: NodeJS.ProcessEnv) {
    const sim = await startSimulator({ scenario: probingTeam(steps) });
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-faults-home-'));
    const userHome = fakeHome();
    const repo = sampleRepo();
    const workerEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...sim.env,
      ...SECRETS,
      HOME: userHome,
      TEMPORAL_ADDRESS: env.address,
      LONGRUN_HOME: home,
      LONGRUN_TASK_QUEUE: uniqueTaskQueue(name),
      LONGRUN_HOST_ID: `${name}-host`,
      LONGRUN_LOG_LEVEL: 'INFO', // more log lines to leak into, if anything did
      LONGRUN_WORKFLOW_BUNDLE: process.env.LONGRUN_TEST_WORKFLOW_BUNDLE,
    };
    delete workerEnv.LONGRUN_SANDBOX;
    const worker = new WorkerProcess({ ...workerEnv, ...extra }, path.join(scratch, `${name}.log`));
    worker.start();
    cleanup.push(async () => {
      await worker.stop();
      await sim.close();
      rmrf(home, userHome, repo);
    });
    return { sim, home, repo, worker };
  }

  it('the scanner finds a key in plain text and inside a base64 payload (so a clean scan means something)', () => {
    const key = SECRETS.ANTHROPIC_API_KEY;
    expect(leaks(`{"x":"${key}"}`, 'a')).toEqual(['ANTHROPIC_API_KEY in a']);
    const payload = Buffer.from(JSON.stringify({ env: { ANTHROPIC_API_KEY: key } })).toString('base64');
    expect(leaks(`{"data":"${payload}"}`, 'b')).toEqual(['ANTHROPIC_API_KEY in b (base64 payload)']);
    expect(leaks('{"data":"bm90aGluZyBzZWNyZXQgaGVyZQ=="}', 'c')).toEqual([]);
  });

  it("the canary scan, run as plain code with the worker's environment and HOME, finds every canary", () => {
    // The control: what the probe prints where nothing stands in its way.
    const dir = fs.mkdtempSync(path.join(scratch, 'scan-'));
    const home = fakeHome();
    try {
      fs.writeFileSync(path.join(dir, 'scan.js'), SCAN_TEST.slice(0, SCAN_TEST.lastIndexOf(SAMPLE_FILES['test.js'])));
      const out = execFileSync(process.execPath, ['scan.js'], {
        cwd: dir,
        env: { ...process.env, ...SECRETS, HOME: home },
        encoding: 'utf8',
      });
      for (const value of Object.values(CANARIES)) expect(out).toContain(value);
    } finally {
      rmrf(home);
    }
  });

  it(
    'LONGRUN_SANDBOX=off (the explicit opt-in): the scan finds the canaries, redaction keeps them out of everything; escapes refused; timed-out trees killed',
    async () => {
      const started = Date.now();
      const pidFile = path.join(scratch, 'pids');
      const { sim, home, repo, worker } = await setup('security-off', probes(pidFile), { LONGRUN_SANDBOX: 'off' });
      const runId = runIdFor('security');
      // The test command prints its environment too, so the verification receipt (in history) is checked as well.
      const input = { ...teamInput(repo), testCommand: 'env && node test.js' };
      startRunWithCli(env.address, String(worker.env.LONGRUN_TASK_QUEUE), runId, input);
      const result = await resultWithin(env.client, runId, RUN_TIMEOUT_MS);
      expect(result.status).toBe('done');
      await worker.stop();

      const results = probeResults(home, runId);
      const content = (id: string) => results.get(id)?.content ?? `(no result for ${id})`;

      // Unsandboxed, the agent's code reached the worker's environment and credential stores; what it printed was
      // redacted before it was stored — and the verification of the merged test.js was too (its receipt).
      expect(content('probe_scan')).toMatch(/^FOUND$/m);
      for (const name of [...Object.keys(SECRETS), ...Object.keys(FILE_SECRETS)]) {
        expect(content('probe_scan')).toContain(`[redacted:${name}]`);
        expect(result.lastReceipt?.outputTail).toContain(`[redacted:${name}]`);
      }
      // Agent commands get an allow-listed environment: the command ran, and no key is in it.
      expect(content('probe_env')).toMatch(/^PATH=/m);
      for (const [name, value] of Object.entries(SECRETS)) {
        expect(content('probe_env')).not.toContain(value);
        expect(content('probe_env')).not.toContain(`${name}=`);
      }
      expect(result.lastReceipt?.outputTail).toMatch(/^PATH=/m);
      expect(result.lastReceipt?.outputTail).not.toMatch(/^\w*(KEY|TOKEN)=/m);
      // Path escapes are refused, with a message the model can act on.
      expect(content('probe_dotdot')).toBe(
        "path '../../../../../../../etc/passwd' is outside the workspace; use a path relative to the repository root",
      );
      expect(content('probe_abs')).toBe(
        "path '/etc/hostname' is outside the workspace; use a path relative to the repository root",
      );
      expect(content('probe_write_out')).toBe(
        "path '../escaped.txt' is outside the workspace; use a path relative to the repository root",
      );
      expect(content('probe_write_git')).toBe(
        "path '.git/hooks/pre-commit' is inside .git; tools may not write there. Change files in the working tree.",
      );
      expect(fs.existsSync(path.join(home, 'worktrees', safeName(runId), 'escaped.txt'))).toBe(false);
      // Symlinks out of the worktree are refused for reads, writes and listings.
      expect(results.get('probe_links')?.isError).toBe(false);
      expect(content('probe_read_link')).toBe(
        "path 'host-link' goes through the symlink 'host-link', which leads outside the workspace; use a path relative to the repository root",
      );
      expect(content('probe_write_link')).toBe(
        "path 'etc-link/evil.conf' goes through the symlink 'etc-link', which leads outside the workspace; use a path relative to the repository root",
      );
      expect(content('probe_list_link')).toBe(
        "path 'etc-link' goes through the symlink 'etc-link', which leads outside the workspace; use a path relative to the repository root",
      );
      expect(fs.existsSync('/etc/evil.conf')).toBe(false);
      for (const id of [
        'probe_dotdot',
        'probe_abs',
        'probe_write_out',
        'probe_write_git',
        'probe_read_link',
        'probe_write_link',
        'probe_list_link',
      ]) {
        expect(results.get(id)?.isError).toBe(true);
      }
      // A command past its timeout is killed with its children and grandchildren.
      expect(content('probe_timeout')).toContain('[timed out after 2s (process group killed)');
      const pids = fs.readFileSync(pidFile, 'utf8').split('\n').filter(Boolean).map(Number);
      expect(pids.length).toBe(4); // the shell, a background sleep, a nested shell and its sleep
      expect(pids.filter(alive)).toEqual([]);

      // --- no canary anywhere (the scan's own findings included); the goal and a redaction marker are seen in
      // the decoded histories, so the scan reads payload contents.
      const log = worker.log();
      const { found, histories, seen } = await leaksAfterRun(env, runId, home, sim, log, [
        'Fix the failing test',
        '[redacted:ANTHROPIC_API_KEY]',
      ]);
      found.push(...leaks(git(repo, 'log', '-p', result.resultBranch), 'result branch'));

      report('security', {
        status: result.status,
        histories,
        transcriptFiles: filesUnder(home).length,
        modelRequests: sim.requests.length,
        logBytes: log.length,
        durationMs: Date.now() - started,
      });
      expect(histories).toBeGreaterThanOrEqual(10); // run (2 runs), planners, sub-planner, tasks
      expect(seen).toEqual({ 'Fix the failing test': true, '[redacted:ANTHROPIC_API_KEY]': true });
      expect(log).toContain('[longrun worker] address='); // the log was captured
      expect(log).toContain('[longrun worker] sandbox: LONGRUN_SANDBOX=off');
      expect(found).toEqual([]);
      expect(worker.survivors()).toEqual([]);
    },
    RUN_TIMEOUT_MS + 60_000,
  );

  it(
    'with bubblewrap (the default): the scan, in run_command and in verification, finds nothing, and nothing leaks',
    async () => {
      const { sim, home, repo, worker } = await setup('security-bwrap', SCAN_PROBES, {});
      const runId = runIdFor('security-bwrap');
      const input = { ...teamInput(repo), limits: { ...teamInput(repo).limits, maxCycles: 1 } };
      startRunWithCli(env.address, String(worker.env.LONGRUN_TASK_QUEUE), runId, input);
      const result = await resultWithin(env.client, runId, RUN_TIMEOUT_MS);
      expect(result.status).toBe('max_cycles');
      await worker.stop();

      const scan = probeResults(home, runId).get('probe_scan');
      expect(scan?.content).toMatch(/\[exit \d+, [\d.]+s, sandboxed\]/); // the tests fail before the fix merges
      expect(scan?.content).toContain('FOUND nothing');
      // The merged test.js is what the verification ran, in the same sandbox.
      expect(git(repo, 'show', `${result.resultBranch}:test.js`)).toBe(SCAN_TEST);
      expect(result.lastReceipt).toMatchObject({ passed: true });
      expect(result.lastReceipt?.outputTail).toContain('FOUND nothing');

      const log = worker.log();
      const { found, histories } = await leaksAfterRun(env, runId, home, sim, log);
      expect(histories).toBeGreaterThanOrEqual(5);
      expect(log).toContain('[longrun worker] sandbox: agent commands and the test command run inside bubblewrap');
      expect(found).toEqual([]);
    },
    RUN_TIMEOUT_MS + 60_000,
  );

  it(
    'without bubblewrap (the default setting): the run is refused before any agent starts, naming LONGRUN_SANDBOX and the fix',
    async () => {
      const { sim, home, repo, worker } = await setup('security-nobwrap', SCAN_PROBES, {
        PATH: pathWithoutBwrap(scratch),
      });
      const runId = runIdFor('security-nobwrap');
      startRunWithCli(env.address, String(worker.env.LONGRUN_TASK_QUEUE), runId, teamInput(repo));
      const handle = env.client.workflow.getHandle(runId);
      const err = await handle.result().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({
        type: 'SandboxUnavailable',
        nonRetryable: true,
      });
      expect(failure.message).toMatch(
        /^LONGRUN_SANDBOX=auto \(the default\) runs agent-written code .* but bwrap is not on PATH\. Fix: install bubblewrap .* or set LONGRUN_SANDBOX=off/,
      );
      // Refused in the run's first activity: no hub, no agent, no model request.
      const events = (await handle.fetchHistory()).events ?? [];
      const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
      expect(scheduled).toEqual(['validateRun']);
      expect(sim.requests).toEqual([]);
      await worker.stop();

      const log = worker.log();
      expect(log).toContain('[longrun worker] sandbox: runs will be refused: LONGRUN_SANDBOX=auto (the default)');
      const { found } = await leaksAfterRun(env, runId, home, sim, log);
      expect(found).toEqual([]);
    },
    RUN_TIMEOUT_MS,
  );
});

/** True when `needle` is in the text or in one of its base64 payloads. */
function leaksCanary(text: string, needle: string): boolean {
  if (text.includes(needle)) return true;
  for (const m of text.matchAll(/"([A-Za-z0-9+/]{16,}={0,2})"/g))
    if (Buffer.from(m[1], 'base64').toString('utf8').includes(needle)) return true;
  return false;
}
