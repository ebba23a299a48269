import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_UI_URL, targetFrom } from '../../src/cli/lib/client';
import { freePort } from '../../src/dev/dev-server';
import { temporalCli } from '../helpers/temporal';

const BIN = path.join(__dirname, '..', '..', 'bin', 'longrun.js');

/** Starts `longrun dev` and resolves once it says it is ready. */
function startDev(home: string, port: number, uiPort: number): Promise<{ child: ChildProcess; output: () => string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, LONGRUN_HOME: home, TEMPORAL_CLI_PATH: temporalCli() };
  delete env.TEMPORAL_ADDRESS;
  const child = spawn(process.execPath, [BIN, 'dev', '--port', String(port), '--ui-port', String(uiPort)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`longrun dev did not get ready:\n${out}`)), 90_000);
    child.stdout!.on('data', () => {
      if (out.includes('ready.')) {
        clearTimeout(timer);
        resolve({ child, output: () => out });
      }
    });
    child.once('exit', (code) => reject(new Error(`longrun dev exited with ${code}:\n${out}`)));
  });
}

async function stopDev(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  return exited;
}

describe('longrun dev', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-dev-'));
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('serves Temporal and the Web UI, polls `longrun`, stops on Ctrl-C and keeps workflows across restarts', async () => {
    const [port, uiPort] = [await freePort(), await freePort()];
    const address = `127.0.0.1:${port}`;
    const cli = (...args: string[]) =>
      execFileSync(temporalCli(), [...args, '--address', address], { encoding: 'utf8' });

    const first = await startDev(home, port, uiPort);
    expect(cli('operator', 'cluster', 'health')).toContain('SERVING');
    const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
    expect(ui.status).toBe(200);
    expect(cli('task-queue', 'describe', '--task-queue', 'longrun', '-o', 'json')).toMatch(/"identity"/i);
    expect(cli('operator', 'search-attribute', 'list')).toContain('LongrunCostUsd');
    // The CLI's links use the UI port this server was started with, not the default one.
    const link = targetFrom({ LONGRUN_HOME: home, TEMPORAL_ADDRESS: `localhost:${port}` }).uiUrl;
    expect(link).toBe(`http://localhost:${uiPort}`);
    expect(targetFrom({ LONGRUN_HOME: home, TEMPORAL_ADDRESS: 'elsewhere:7233' }).uiUrl).toBe(DEFAULT_UI_URL);
    expect(targetFrom({ LONGRUN_HOME: home, LONGRUN_UI_URL: 'https://ui.example/' }).uiUrl).toBe('https://ui.example');
    // A workflow nobody runs: it must still be listed after a restart.
    cli(
      'workflow',
      'start',
      '--task-queue',
      'nobody-polls-this',
      '--type',
      'placeholder',
      '--workflow-id',
      'survives-restart',
    );
    expect(await stopDev(first.child)).toBe(0);
    expect(first.output()).toContain('stopping the Temporal dev server');
    expect(() => cli('operator', 'cluster', 'health')).toThrow();

    const second = await startDev(home, port, uiPort);
    try {
      expect(cli('workflow', 'list', '--query', 'WorkflowId="survives-restart"')).toContain('survives-restart');
    } finally {
      cli('workflow', 'terminate', '--workflow-id', 'survives-restart', '--reason', 'test done');
      expect(await stopDev(second.child)).toBe(0);
    }
  });
});
