import * as fs from 'node:fs';
import type { DevServer } from '../../src/dev/dev-server';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as Record<string, unknown>).__longrunDevServer as DevServer | undefined;
  if (!server) return;
  await server.stop();
  const dir = process.env.LONGRUN_TEST_SERVER_DIR;
  if (dir && !process.env.LONGRUN_KEEP_TEST_SERVER_DIR) fs.rmSync(dir, { recursive: true, force: true });
}
