import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { paths, safeName } from '../../src/config';
import type { ChatMessage } from '../../src/core/types';
import { teamScenario } from '../../src/demo/team-scenario';
import { startSimulator, type Simulator } from '../../src/sim';
import type { ScenarioFn, SimToolCallSpec } from '../../src/sim/types';
import { temporalCli, testEnv, uniqueTaskQueue } from '../helpers/temporal';
import { git, report, resultWithin, rmrf, runIdFor, sampleRepo, startRunWithCli, teamInput } from './helpers/runs';
import { who } from './helpers/scenarios';
import { alive, WorkerProcess } from './helpers/worker-process';

/**
 * Security after a full run: provider keys never reach workflow histories, agent commands, transcripts or logs;
 * a scripted worker's path escapes and symlinks are refused; a command past its timeout dies with its children.
 */
const SECRETS: Record<string, string> = {
  OPENAI_API_KEY: 'sk-LEAKCHECK-openai-5b1e0c9d',
  ANTHROPIC_API_KEY: 'sk-ant-LEAKCHECK-anthropic-8f2a7d41',
  OPENAI_COMPATIBLE_API_KEY: 'LEAKCHECK-compatible-3c9e77',
  ACME_SERVICE_API_KEY: 'LEAKCHECK-acme-71d0aa',
};
const RUN_TIMEOUT_MS = 6 * 60_000;
const PROBED_TASK = 'Add clamp()';

/** The probes one worker runs before its real work, one per turn; results are found by call id. */
function probes(pidFile: string): SimToolCallSpec[][] {
  const spawnTree =
    `echo $$ >> ${pidFile}; sleep 600 & echo $! >> ${pidFile}; ` +
    `bash -c 'sleep 600 & echo $! >> ${pidFile}; wait' & echo $! >> ${pidFile}; wait`;
  return [
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
function probingTeam(pidFile: string): ScenarioFn {
  const base = teamScenario();
  const steps = probes(pidFile);
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
    for (const [name, value] of Object.entries(SECRETS)) if (s.includes(value)) found.push(`${name} in ${where}${how}`);
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

describe('security: secrets, path confinement, command timeouts (full run, child worker)', () => {
  let env: TestWorkflowEnvironment;
  let sim: Simulator;
  let worker: WorkerProcess;
  let home: string;
  let scratch: string;
  let repo: string;
  let pidFile: string;

  beforeAll(async () => {
    env = await testEnv();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-faults-sec-'));
    pidFile = path.join(scratch, 'pids');
    sim = await startSimulator({ scenario: probingTeam(pidFile) });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-faults-home-'));
    repo = sampleRepo();
    worker = new WorkerProcess(
      {
        ...process.env,
        ...sim.env,
        ...SECRETS,
        TEMPORAL_ADDRESS: env.address,
        LONGRUN_HOME: home,
        LONGRUN_TASK_QUEUE: uniqueTaskQueue('security'),
        LONGRUN_HOST_ID: 'security-host',
        LONGRUN_SANDBOX: 'off',
        LONGRUN_LOG_LEVEL: 'INFO', // more log lines to leak into, if anything did
        LONGRUN_WORKFLOW_BUNDLE: process.env.LONGRUN_TEST_WORKFLOW_BUNDLE,
      },
      path.join(scratch, 'worker.log'),
    );
    worker.start();
  });

  afterAll(async () => {
    await worker?.stop();
    await sim?.close();
    await env?.teardown();
    rmrf(home, scratch, repo);
  });

  it('the scanner finds a key in plain text and inside a base64 payload (so a clean scan means something)', () => {
    const key = SECRETS.ANTHROPIC_API_KEY;
    expect(leaks(`{"x":"${key}"}`, 'a')).toEqual(['ANTHROPIC_API_KEY in a']);
    const payload = Buffer.from(JSON.stringify({ env: { ANTHROPIC_API_KEY: key } })).toString('base64');
    expect(leaks(`{"data":"${payload}"}`, 'b')).toEqual(['ANTHROPIC_API_KEY in b (base64 payload)']);
    expect(leaks('{"data":"bm90aGluZyBzZWNyZXQgaGVyZQ=="}', 'c')).toEqual([]);
  });

  it(
    'keeps every *_API_KEY out of histories, commands, transcripts and logs; refuses escapes; kills timed-out command trees',
    async () => {
      const started = Date.now();
      const runId = runIdFor('security');
      // The test command prints its environment too, so the verification receipt (in history) is checked as well.
      const input = { ...teamInput(repo), testCommand: 'env && node test.js' };
      startRunWithCli(env.address, String(worker.env.LONGRUN_TASK_QUEUE), runId, input);
      const result = await resultWithin(env.client, runId, RUN_TIMEOUT_MS);
      expect(result.status).toBe('done');
      await worker.stop();

      // --- the probes' tool results, from the worker's transcript on disk
      const results = new Map<string, Extract<ChatMessage, { role: 'tool' }>>();
      for (const file of filesUnder(path.join(paths.artifacts(home), 'transcripts'))) {
        if (!path.basename(path.dirname(file)).startsWith(safeName(runId))) continue;
        const m = JSON.parse(fs.readFileSync(file, 'utf8')) as ChatMessage;
        if (m.role === 'tool' && m.toolCallId?.startsWith('probe_')) results.set(m.toolCallId, m);
      }
      const content = (id: string) => results.get(id)?.content ?? `(no result for ${id})`;

      // Agent commands get an allow-listed environment: the command ran, and no key is in it.
      expect(content('probe_env')).toMatch(/^PATH=/m);
      for (const [name, value] of Object.entries(SECRETS)) {
        expect(content('probe_env')).not.toContain(value);
        expect(content('probe_env')).not.toContain(`${name}=`);
      }
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

      // --- no key anywhere: every history of the run's tree (all runs, continued-as-new included)
      const found: string[] = [];
      let histories = 0;
      let goalSeen = false;
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
        // The scan sees payload contents (decoded): the goal is in the run's input.
        goalSeen ||= leaksCanary(json, 'Fix the failing test');
      }
      // ... the transcripts and every other artifact, the worker's logs, and the result branch
      for (const file of filesUnder(home).filter((f) => !f.includes(`${path.sep}hubs${path.sep}`))) {
        found.push(...leaks(fs.readFileSync(file, 'utf8'), path.relative(home, file)));
      }
      const log = worker.log();
      found.push(...leaks(log, 'worker log'));
      found.push(...leaks(git(repo, 'log', '-p', result.resultBranch), 'result branch'));

      report('security', {
        status: result.status,
        histories,
        transcriptFiles: filesUnder(home).length,
        logBytes: log.length,
        durationMs: Date.now() - started,
      });
      expect(histories).toBeGreaterThanOrEqual(10); // run (2 runs), planners, sub-planner, tasks
      expect(goalSeen).toBe(true);
      expect(log).toContain('[longrun worker] address='); // the log was captured
      expect(found).toEqual([]);
      expect(worker.survivors()).toEqual([]);
    },
    RUN_TIMEOUT_MS + 60_000,
  );
});

/** True when `needle` is in the text or in one of its base64 payloads. */
function leaksCanary(text: string, needle: string): boolean {
  if (text.includes(needle)) return true;
  for (const m of text.matchAll(/"([A-Za-z0-9+/]{16,}={0,2})"/g))
    if (Buffer.from(m[1], 'base64').toString('utf8').includes(needle)) return true;
  return false;
}
