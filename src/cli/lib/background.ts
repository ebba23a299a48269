/**
 * `longrun run` on a machine with nothing running: start `longrun dev` (the embedded Temporal dev server and a
 * worker) as a detached background process that outlives the CLI, and wait until the server answers.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../config';
import { serverAnswers } from '../../dev/dev-server';

/** bin/longrun.js, the same relative path from src/cli/lib and dist/cli/lib. */
export const LONGRUN_BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'longrun.js');

export interface BackgroundDev {
  pid: number;
  logFile: string;
}

export async function startBackgroundDev(
  address: string,
  env: NodeJS.ProcessEnv = process.env,
  opts: { timeoutMs?: number } = {},
): Promise<BackgroundDev> {
  const home = loadConfig(env).home;
  fs.mkdirSync(home, { recursive: true });
  const logFile = path.join(home, 'dev.log');
  const fd = fs.openSync(logFile, 'a');
  const port = address.split(':').pop() ?? '7233';
  // Own session and process group: Ctrl-C in this terminal must not reach it, and it must outlive this process.
  const child = spawn(process.execPath, [LONGRUN_BIN, 'dev', '--port', port], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env,
  });
  fs.closeSync(fd);
  let exitCode: number | null | undefined;
  child.once('exit', (code) => (exitCode = code));
  child.unref();
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(`\`longrun dev\` exited with code ${exitCode} before the server answered; see ${logFile}`);
    }
    if (await serverAnswers(address, 1_000)) return { pid: child.pid!, logFile };
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `the background \`longrun dev\` (pid ${child.pid}) did not answer at ${address} in time; see ${logFile}`,
  );
}
