/**
 * A private PostgreSQL for the cluster: its own data dir, listening on 127.0.0.1 only (no Unix socket), a
 * superuser `temporal` with a random password. PostgreSQL refuses to run as root, so when we are root it runs as an
 * unprivileged system user (`postgres` if Debian's packages created it, else `nobody`) that owns the data dir.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Postgres {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

/** The directory holding initdb and postgres: on PATH, else the newest /usr/lib/postgresql/<version>/bin. */
export function findPostgresBin(env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const initdb = path.join(dir, 'initdb');
    if (fs.existsSync(initdb)) return path.dirname(fs.realpathSync(initdb));
  }
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length)
    throw new Error(
      'PostgreSQL is not installed (no initdb on PATH or under /usr/lib/postgresql): install it, e.g. `apt-get install postgresql-15`',
    );
  return path.join(root, versions[0], 'bin');
}

async function unprivilegedUser(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const { stdout } = await run('getent', ['passwd', name]);
      const [, , uid, gid] = stdout.trim().split(':');
      return { name, uid: Number(uid), gid: Number(gid) };
    } catch {
      // not on this machine: try the next
    }
  }
  throw new Error('running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as');
}

/**
 * Creates the database cluster in `dataDir` unless it holds one, starts `postgres` on `port` and waits until it
 * accepts connections. `logFile` receives its output.
 */
export async function startPostgres(opts: {
  dataDir: string;
  port: number;
  password: string;
  logFile: string;
}): Promise<Postgres> {
  const bin = findPostgresBin();
  const user = await unprivilegedUser();
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  if (!fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'))) {
    fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    const pwfile = path.join(path.dirname(opts.dataDir), 'pgpass.tmp');
    fs.writeFileSync(pwfile, `${opts.password}\n`, { mode: 0o600 });
    if (user) {
      // The unprivileged user must reach its data dir: we open up the cluster's own dir, never a directory above it.
      const own = path.dirname(opts.dataDir);
      fs.chmodSync(own, fs.statSync(own).mode | 0o111);
      for (let dir = path.dirname(own); dir !== path.dirname(dir); dir = path.dirname(dir)) {
        if ((fs.statSync(dir).mode & 0o001) === 0)
          throw new Error(
            `PostgreSQL runs as ${user.name} and cannot reach ${opts.dataDir} (${dir} is closed to other users): ` +
              'choose a cluster dir under /tmp or another world-traversable place (--dir)',
          );
      }
      fs.chownSync(opts.dataDir, user.uid, user.gid);
      fs.chownSync(pwfile, user.uid, user.gid);
    }
    try {
      await run(
        path.join(bin, 'initdb'),
        [
          '-D',
          opts.dataDir,
          '-U',
          'temporal',
          `--pwfile=${pwfile}`,
          '-A',
          'scram-sha-256',
          '-E',
          'UTF8',
          '--no-locale',
        ],
        { ...as, cwd: opts.dataDir },
      );
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`initdb ${opts.dataDir} failed: ${e.stderr || e.message}`);
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  }
  const out = fs.openSync(opts.logFile, 'a');
  if (user) fs.fchownSync(out, user.uid, user.gid);
  const settings = {
    listen_addresses: '127.0.0.1',
    port: String(opts.port),
    unix_socket_directories: '',
    max_connections: '200',
  };
  const args = ['-D', opts.dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  // Own process group, so that a Ctrl-C to the script reaches us first and we shut PostgreSQL down in order.
  const child = spawn(path.join(bin, 'postgres'), args, {
    ...as,
    cwd: opts.dataDir,
    stdio: ['ignore', out, out],
    detached: true,
  });
  fs.closeSync(out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitReady(path.join(bin, 'pg_isready'), opts.port, exited, opts.logFile);
  } catch (err) {
    await stopPostgres(child);
    throw err;
  }
  return { pid: child.pid!, port: opts.port, stop: () => stopPostgres(child) };
}

async function waitReady(isReady: string, port: number, exited: Promise<number | null>, logFile: string) {
  let code: number | null | undefined;
  void exited.then((c) => (code = c));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (code !== undefined)
      throw new Error(`postgres exited with code ${code} before accepting connections; see ${logFile}`);
    try {
      await run(isReady, ['-q', '-h', '127.0.0.1', '-p', String(port)]);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`postgres did not accept connections on 127.0.0.1:${port} within 60 s; see ${logFile}`);
}

/** SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, the data is checkpointed. */
async function stopPostgres(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}
