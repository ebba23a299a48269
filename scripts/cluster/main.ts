/**
 * npm run cluster [-- --dir <path>] [-- --shards <n>]   production Temporal on PostgreSQL here, until Ctrl-C
 * npm run cluster -- build                            only build (or find) the pinned server and schema tool
 *
 * See docs/scaling.md ("Production Temporal without Docker").
 */
import { Command, InvalidArgumentError } from 'commander';
import { ensureServerBinaries } from './build';
import { startTemporalCluster } from './cluster';

const log = (line: string) => console.error(`[cluster] ${line}`);

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of shards, at least 1');
  return n;
}

const program = new Command('cluster')
  .description('Temporal server on a private PostgreSQL, on 127.0.0.1, with longrun namespace and search attributes')
  .option('--dir <path>', 'state dir to keep (database, logs, config); default: a temp dir removed on exit')
  .option('--shards <n>', 'history shards of a new database (default 4)', positiveInt)
  .action(async (opts: { dir?: string; shards?: number }) => {
    const cluster = await startTemporalCluster({ ...opts, log });
    console.log(`Temporal on PostgreSQL ready: ${cluster.address}, namespace ${cluster.namespace}`);
    console.log(`  export TEMPORAL_ADDRESS=${cluster.address}`);
    console.log(`  logs: ${cluster.dir}/server.log, ${cluster.dir}/postgres.log`);
    console.log('Ctrl-C stops the server and PostgreSQL.');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    log('stopping');
    await cluster.stop();
  });

program
  .command('build')
  .description('build the pinned Temporal server and temporal-sql-tool into the cache (once) and print their paths')
  .action(async () => {
    const bins = await ensureServerBinaries({ log });
    console.log(`${bins.server}\n${bins.sqlTool}`);
  });

program.parseAsync().catch((err: Error) => {
  console.error(`[cluster] ${err.message}`);
  process.exitCode = 1;
});
