import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface GitDaemon {
  /** The base directory the daemon serves; `<dir>/hub.git` is an empty bare repository. */
  dir: string;
  /** `git://127.0.0.1:<port>/<repo>` for a repository under `dir`. */
  url(repo?: string): string;
  /** Makes another empty bare repository under `dir`; returns its URL. */
  addRepo(repo: string): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A real `git daemon` on 127.0.0.1 serving a temp dir with push enabled: a git remote reached over the network, as a
 * remote hub is in production (LONGRUN_HUB_URL=git://...). Ready when it accepts connections; stop() kills it and
 * removes the dir.
 */
export async function startGitDaemon(): Promise<GitDaemon> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'longrun-gitd-'));
  let port = 0;
  const url = (repo = 'hub.git') => `git://127.0.0.1:${port}/${repo}`;
  const addRepo = async (repo: string) => {
    await exec('git', ['init', '--quiet', '--bare', path.join(dir, repo)]);
    return url(repo);
  };
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const child = spawn(
      'git',
      [
        'daemon',
        '--reuseaddr',
        '--export-all',
        '--enable=receive-pack',
        `--base-path=${dir}`,
        '--listen=127.0.0.1',
        `--port=${port}`,
        dir,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let alive = true;
    void exited.then(() => (alive = false));
    // Wait until it listens (or dies: another process took the port between freePort and the bind).
    while (alive && !(await accepts(port))) await new Promise((r) => setTimeout(r, 20));
    if (!alive) {
      if (attempt < 5) continue;
      throw new Error(`git daemon did not start: ${stderr}`);
    }
    await addRepo('hub.git');
    return {
      dir,
      url,
      addRepo,
      async stop() {
        if (alive) {
          child.kill('SIGTERM');
          await exited;
        }
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  }
}
