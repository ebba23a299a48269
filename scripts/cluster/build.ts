/**
 * The pinned Temporal server and its SQL schema tool, built once with `go install` into a cache outside the
 * checkout (binaryCacheDir) and reused from there. A build takes minutes; a cache hit takes nothing.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { binaryCacheDir, buildCommand, GO_TOOLCHAIN, TEMPORAL_SERVER_VERSION } from './config';

export interface ServerBinaries {
  server: string;
  sqlTool: string;
}

export function cachedBinaries(cacheDir = binaryCacheDir()): ServerBinaries {
  return { server: path.join(cacheDir, 'temporal-server'), sqlTool: path.join(cacheDir, 'temporal-sql-tool') };
}

/** The cached binaries, built first when missing. `log` receives progress lines and the build's output. */
export async function ensureServerBinaries(
  opts: { cacheDir?: string; log?: (line: string) => void } = {},
): Promise<ServerBinaries> {
  const cacheDir = opts.cacheDir ?? binaryCacheDir();
  const log = opts.log ?? (() => undefined);
  const bins = cachedBinaries(cacheDir);
  if (fs.existsSync(bins.server) && fs.existsSync(bins.sqlTool)) return bins;

  log(
    `building Temporal server v${TEMPORAL_SERVER_VERSION} and its SQL tool with ${GO_TOOLCHAIN} into ${cacheDir} (once; a few minutes)`,
  );
  fs.mkdirSync(cacheDir, { recursive: true });
  // A build dir of our own, renamed into place at the end: an interrupted build never looks like a cached one.
  const gobin = fs.mkdtempSync(path.join(cacheDir, 'build-'));
  const { args, env } = buildCommand();
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('go', args, {
        env: { ...process.env, ...env, GOBIN: gobin },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const tail: string[] = [];
      const onData = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          tail.push(line);
          if (tail.length > 40) tail.shift();
          log(`  ${line}`);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', (err) =>
        reject(
          (err as NodeJS.ErrnoException).code === 'ENOENT'
            ? new Error('`go` is not on PATH: install Go (any 1.21+; GOTOOLCHAIN fetches the pinned one) and retry')
            : err,
        ),
      );
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`go ${args.join(' ')} exited with ${code}:\n${tail.join('\n')}`)),
      );
    });
    fs.renameSync(path.join(gobin, 'sql'), bins.sqlTool);
    fs.renameSync(path.join(gobin, 'server'), bins.server);
  } finally {
    fs.rmSync(gobin, { recursive: true, force: true });
  }
  log(`built ${bins.server} and ${bins.sqlTool}`);
  return bins;
}
