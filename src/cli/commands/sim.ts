import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { startSimulator } from '../../sim';

export interface SimCommandOptions {
  port: number;
  host: string;
  scenario: string;
  quiet?: boolean;
}

/** The example scenario shipped with longrun (same relative path from src/ and dist/). */
export const DEFAULT_SCENARIO = path.resolve(__dirname, '..', '..', '..', 'sim', 'scenarios', 'hello.json');

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError(`--port must be a port number (0-65535, 0 = any free port), got "${value}"`);
  }
  return n;
}

/** `longrun sim`: the simulated OpenAI / Anthropic server, until SIGINT or SIGTERM. */
export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description(
      'Serve a simulated model API (POST /v1/chat/completions and /v1/messages) driven by a scenario file, ' +
        'so longrun runs without a real model. Ctrl-C stops it.',
    )
    .option('--port <port>', 'port to listen on (0 = any free port)', parsePort, 8787)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option(
      '--scenario <file>',
      'scenario: .json rules, or a .js/.ts module exporting rules or a function',
      DEFAULT_SCENARIO,
    )
    .option('--quiet', 'do not print a line per request')
    .action(async (opts: SimCommandOptions) => {
      const sim = await startSimulator({ port: opts.port, host: opts.host, scenario: opts.scenario, log: !opts.quiet });
      console.log(`[longrun sim] listening on ${sim.url} with scenario ${path.resolve(opts.scenario)}`);
      console.log('[longrun sim] point the worker at it with:');
      for (const [name, value] of Object.entries(sim.env)) console.log(`  export ${name}=${value}`);
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          console.log(`[longrun sim] ${signal}: ${sim.requests.length} requests served; stopping`);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await sim.close();
    });
}
