import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, paths } from '../../config';
import { registerSearchAttributes, serverAnswers, startDevServer, type DevServer } from '../../dev/dev-server';
import { findTemporalCli } from '../../dev/temporal-cli';

export interface DevOptions {
  port: number;
  uiPort: number;
  ip: string;
}

export interface DevEnvironment {
  address: string;
  uiUrl: string | null;
  /** Set when this process started the server (and must stop it). */
  server: DevServer | null;
}

/**
 * Reuses the Temporal server at TEMPORAL_ADDRESS when it answers; otherwise starts `temporal server start-dev`
 * with its SQLite database in the state dir, so workflows survive restarts.
 */
export async function ensureTemporal(
  opts: DevOptions,
  env: NodeJS.ProcessEnv = process.env,
  log = console.log,
): Promise<DevEnvironment> {
  const config = loadConfig(env);
  const address = env.TEMPORAL_ADDRESS || `${opts.ip === '0.0.0.0' ? '127.0.0.1' : opts.ip}:${opts.port}`;
  const cli = await findTemporalCli({ env, log: (m) => log(`[longrun dev] ${m}`) });
  if (await serverAnswers(address)) {
    log(`[longrun dev] reusing the Temporal server at ${address}`);
    await registerSearchAttributes(cli, address, config.namespace);
    return { address, uiUrl: null, server: null };
  }
  const dbFile = paths.temporalDb(config.home);
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  log(`[longrun dev] starting temporal server start-dev (database ${dbFile})`);
  const server = await startDevServer({
    cli,
    dbFile,
    ip: opts.ip,
    port: opts.port,
    uiPort: opts.uiPort,
    namespace: config.namespace,
    logFile: path.join(path.dirname(dbFile), 'server.log'),
    startTimeoutMs: 120_000,
  });
  const uiUrl = `http://localhost:${opts.uiPort}`;
  // `longrun status`, `report` and `run` link to this UI, not the default port, when they talk to this server.
  fs.writeFileSync(paths.devServer(config.home), JSON.stringify({ address: server.address, uiUrl }) + '\n');
  return { address: server.address, uiUrl, server };
}

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description(
      'Start the embedded Temporal dev server (SQLite in $LONGRUN_HOME, Web UI) and a longrun worker. Ctrl-C stops both.',
    )
    .option('--port <port>', 'gRPC port of the dev server', (v) => parsePort(v, '--port'), 7233)
    .option('--ui-port <port>', 'Web UI port', (v) => parsePort(v, '--ui-port'), 8233)
    .option('--ip <ip>', 'address to bind', '127.0.0.1')
    .action(async (opts: DevOptions) => {
      // Loaded here, not at the top: the worker and the SDK runtime cost every other command about a second.
      const { installRuntime } = await import('../../workers/runtime');
      const { createWorkers } = await import('../../workers/worker');
      const { workerSettings } = await import('../../workers/options');
      const { describeSandbox, sandboxSettingsFromEnv } = await import('../../tools/sandbox');
      const dev = await ensureTemporal(opts);
      const env = { ...process.env, TEMPORAL_ADDRESS: dev.address };
      installRuntime(env);
      const settings = workerSettings(env);
      try {
        const workers = await createWorkers(settings);
        console.log(`[longrun dev] Temporal gRPC: ${dev.address}`);
        if (dev.uiUrl) console.log(`[longrun dev] Temporal Web UI: ${dev.uiUrl}`);
        console.log(
          `[longrun dev] worker polling task queues ${settings.taskQueue} and ${settings.hostTaskQueue}; state in ${settings.home}`,
        );
        const sandbox = await describeSandbox(sandboxSettingsFromEnv(env), process.env.PATH);
        (sandbox.ok ? console.log : console.warn)(`[longrun dev] sandbox: ${sandbox.message}`);
        console.log('[longrun dev] ready. Ctrl-C to stop.');
        await workers.run(); // the SDK runtime shuts the workers down on SIGINT/SIGTERM
      } finally {
        if (dev.server) {
          console.log('[longrun dev] stopping the Temporal dev server');
          await dev.server.stop();
        }
        console.log('[longrun dev] stopped');
      }
    });
}

function parsePort(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new (require('commander').InvalidArgumentError)(`${flag} must be a port number (1-65535), got "${value}"`);
  }
  return n;
}
