import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createToolActivities } from '../../src/activities/tools';
import { redactor } from '../../src/core/redact';
import { loadConfig } from '../../src/config';
import type { ChatMessage, ToolCall, ToolCallInput, ToolCallResult } from '../../src/core/types';
import { ArtifactStore } from '../../src/store/artifacts';
import { tempDir } from '../helpers/temporal';
import { makeRepo, processesWith, removeDir, waitFor } from './fixtures';

/**
 * A 3 s heartbeat timeout, as workflows give every tool call (one beat a second). Quiet logger: the failures these
 * tests provoke on purpose are logged by the SDK at WARN.
 */
const mockEnv = () =>
  new MockActivityEnvironment({ heartbeatTimeoutMs: 3_000 }, { logger: new DefaultLogger('ERROR') });

describe('runTool activity', () => {
  let repo: string;
  let home: string;
  let store: ArtifactStore;
  let activities: ReturnType<typeof createToolActivities>;
  let transcript = 0;

  beforeEach(async () => {
    repo = await makeRepo({ 'a.txt': 'alpha\n' });
    home = await tempDir('tools-home');
    store = new ArtifactStore(path.join(home, 'artifacts'));
    // The sandbox itself is tested in exec.test.ts; here the activity around it, on any host.
    const env = { ...process.env, LONGRUN_HOME: home, LONGRUN_SANDBOX: 'off', OPENAI_API_KEY: 'sk-test' };
    activities = createToolActivities({ config: loadConfig(env), store, env });
  });
  afterEach(() => {
    removeDir(repo);
    removeDir(home);
  });

  /** Writes system, user and an assistant message with `calls`; returns the input for the first call. */
  async function withCalls(calls: ToolCall[], readOnly = false): Promise<ToolCallInput> {
    const id = `agent-${transcript++}`;
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are a worker.' },
      { role: 'user', content: 'Do the task.' },
      { role: 'assistant', content: 'On it.', toolCalls: calls },
    ];
    await store.append(id, 0, messages);
    return {
      runId: 'run-1',
      agentId: 'run-1/worker-1',
      workspace: { path: repo, readOnly },
      transcriptId: id,
      assistantIndex: 2,
      callId: calls[0].id,
      resultIndex: 3,
    };
  }

  test('reads the call from the transcript, runs it and writes the result entry (idempotently)', async () => {
    const input = await withCalls([
      { id: 'call-0', name: 'read_file', arguments: { path: 'a.txt' } },
      { id: 'call-1', name: 'write_file', arguments: { path: 'src/b.txt', content: 'beta\n' } },
    ]);
    const env = mockEnv();
    const second = { ...input, callId: 'call-1', resultIndex: 4 };
    await expect(env.run(activities.runTool, input)).resolves.toEqual({
      ok: true,
      summary: 'read a.txt:1-1',
      name: 'read_file',
    });
    await expect(env.run(activities.runTool, second)).resolves.toEqual({
      ok: true,
      summary: 'created src/b.txt',
      name: 'write_file',
    });
    expect(fs.readFileSync(path.join(repo, 'src/b.txt'), 'utf8')).toBe('beta\n');
    expect(await store.readEntry(input.transcriptId, 3)).toEqual({
      role: 'tool',
      toolCallId: 'call-0',
      name: 'read_file',
      content: 'a.txt lines 1-1 of 1\n     1\talpha',
      isError: false,
    });
    // Running the same call again overwrites its own entry instead of appending.
    await env.run(activities.runTool, second);
    const entries = await store.read({ id: input.transcriptId, length: 5 });
    expect(entries[4]).toMatchObject({
      role: 'tool',
      toolCallId: 'call-1',
      content: expect.stringContaining('replaced src/b.txt'),
    });
    await expect(store.readEntry(input.transcriptId, 5)).rejects.toThrow(/has no entry 5/);
  });

  test('malformed JSON arguments are reported to the model, not thrown', async () => {
    const input = await withCalls([
      { id: 'c1', name: 'write_file', argumentsError: 'Unexpected token } in JSON at position 12' },
    ]);
    const result = await mockEnv().run(activities.runTool, input);
    expect(result).toEqual({ ok: false, summary: 'write_file: malformed JSON arguments', name: 'write_file' });
    const entry = await store.readEntry(input.transcriptId, 3);
    expect(entry).toMatchObject({ role: 'tool', toolCallId: 'c1', isError: true });
    expect((entry as { content: string }).content).toContain('were not valid JSON (Unexpected token }');
  });

  test('an unknown tool and invalid arguments come back as ok:false', async () => {
    const input = await withCalls([
      { id: 'u', name: 'rm_rf', arguments: {} },
      { id: 'v', name: 'edit_file', arguments: { path: 'a.txt' } },
    ]);
    const env = mockEnv();
    await expect(env.run(activities.runTool, input)).resolves.toMatchObject({ ok: false, name: 'rm_rf' });
    expect(await store.readEntry(input.transcriptId, 3)).toMatchObject({
      isError: true,
      content: expect.stringContaining("unknown tool 'rm_rf'"),
    });
    await expect(env.run(activities.runTool, { ...input, callId: 'v', resultIndex: 4 })).resolves.toMatchObject({
      ok: false,
    });
    expect(await store.readEntry(input.transcriptId, 4)).toMatchObject({
      content: expect.stringContaining('- oldText:'),
    });
  });

  test('a read-only workspace refuses writes', async () => {
    const input = await withCalls(
      [{ id: 'w', name: 'write_file', arguments: { path: 'a.txt', content: 'changed' } }],
      true,
    );
    await expect(mockEnv().run(activities.runTool, input)).resolves.toMatchObject({ ok: false });
    expect(fs.readFileSync(path.join(repo, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect(await store.readEntry(input.transcriptId, 3)).toMatchObject({
      content: expect.stringContaining('read-only'),
    });
  });

  test('a missing transcript or call is an infrastructure fault: non-retryable failure', async () => {
    const input = await withCalls([{ id: 'x', name: 'git_status', arguments: {} }]);
    const env = mockEnv();
    const missingEntry = await env.run(activities.runTool, { ...input, assistantIndex: 9 }).catch((e: unknown) => e);
    expect(missingEntry).toBeInstanceOf(ApplicationFailure);
    expect(missingEntry).toMatchObject({ type: 'ToolCallNotFound', nonRetryable: true });
    const missingCall = await env.run(activities.runTool, { ...input, callId: 'nope' }).catch((e: unknown) => e);
    expect(missingCall).toMatchObject({
      type: 'ToolCallNotFound',
      message: expect.stringContaining('has no tool call nope'),
    });
  });

  test('run_command heartbeats, and cancellation kills the process group', async () => {
    const marker = `sleep 51${process.pid % 1000}3`;
    const input = await withCalls([
      { id: 'r', name: 'run_command', arguments: { command: `${marker} & echo started > started.txt; wait` } },
    ]);
    const env = mockEnv();
    let heartbeats = 0;
    env.on('heartbeat', () => heartbeats++);
    const running = env.run(activities.runTool, input);
    const started = () => fs.existsSync(path.join(repo, 'started.txt')) && processesWith(marker).length > 0;
    expect(await waitFor(() => heartbeats > 0 && started())).toBe(true);
    env.cancel();
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    expect(await store.readEntry(input.transcriptId, 3)).toMatchObject({
      role: 'tool',
      isError: true,
      content: expect.stringContaining('cancelled (process group killed)'),
    });
    expect(await waitFor(() => processesWith(marker).length === 0)).toBe(true);
  });

  test('run_command gets no provider keys from the worker environment', async () => {
    const input = await withCalls([{ id: 'e', name: 'run_command', arguments: { command: 'env' } }]);
    await expect(mockEnv().run(activities.runTool, input)).resolves.toMatchObject({
      ok: true,
      summary: 'exit 0: env',
    });
    const entry = await store.readEntry(input.transcriptId, 3);
    expect(entry.content).toContain('CI=true');
    expect(entry.content).not.toContain('sk-test');
  });

  test("a command's output that holds a worker secret is redacted in the transcript and the summary", async () => {
    const secret = 'sk-tool-canary-5521';
    fs.writeFileSync(path.join(repo, 'leak.txt'), `${secret}\n`);
    const redacting = createToolActivities({
      config: loadConfig({ LONGRUN_HOME: home }),
      store,
      env: { ...process.env, LONGRUN_SANDBOX: 'off' },
      redact: redactor([{ name: 'OPENAI_API_KEY', value: secret }]),
    });
    const input = await withCalls([
      { id: 'l', name: 'run_command', arguments: { command: `cat leak.txt # ${secret}` } },
    ]);
    const result = (await mockEnv().run(redacting.runTool, input)) as ToolCallResult;
    expect(JSON.stringify(result)).not.toContain(secret);
    expect(result.summary).toContain('[redacted:OPENAI_API_KEY]');
    const entry = await store.readEntry(input.transcriptId, 3);
    expect(entry.content).toMatch(/^\[redacted:OPENAI_API_KEY\]$/m);
    expect(entry.content).not.toContain(secret);
  });

  test('without a working bubblewrap (and no LONGRUN_SANDBOX=off) run_command fails non-retryably with the fix', async () => {
    const emptyBin = path.join(home, 'empty-bin');
    fs.mkdirSync(emptyBin);
    const env = { ...process.env, PATH: emptyBin, LONGRUN_SANDBOX: 'auto' };
    const refusing = createToolActivities({ config: loadConfig({ LONGRUN_HOME: home }), store, env });
    const input = await withCalls([{ id: 'n', name: 'run_command', arguments: { command: 'touch ran' } }]);
    await expect(mockEnv().run(refusing.runTool, input)).rejects.toMatchObject({
      type: 'SandboxUnavailable',
      nonRetryable: true,
      message: expect.stringContaining('bwrap is not on PATH. Fix: install bubblewrap'),
    });
    expect(fs.existsSync(path.join(repo, 'ran'))).toBe(false);
  });
});
