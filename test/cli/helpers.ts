import { spawn } from 'node:child_process';
import * as path from 'node:path';

export const LONGRUN_BIN = path.resolve(__dirname, '..', '..', 'bin', 'longrun.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/longrun.js <args>` as a user would (from the TypeScript sources), with stdout and stderr piped
 * (so not a TTY), and resolves when it exits. Killed (SIGKILL to its process group) after `timeoutMs`.
 */
export function longrun(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LONGRUN_BIN, ...args], {
      env: { ...env, LONGRUN_FROM_SOURCE: '1', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      reject(
        new Error(
          `longrun ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** An environment without provider keys or longrun settings of the machine running the tests. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(OPENAI_|ANTHROPIC_|LONGRUN_(?!TEST_)|TEMPORAL_(ADDRESS|NAMESPACE|TLS|API_KEY))/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}
