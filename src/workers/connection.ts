import * as fs from 'node:fs';

/**
 * Connection options shared by the worker and the CLI: plain for the dev server, TLS (mTLS cert/key) or an API key
 * for a Temporal cluster or Temporal Cloud. Read from the environment only.
 */
export interface TemporalConnectionOptions {
  address: string;
  tls?: boolean | { clientCertPair: { crt: Buffer; key: Buffer }; serverNameOverride?: string };
  apiKey?: string;
}

/** Fits both the client's Connection and the worker's NativeConnection. */
export function connectionOptions(address: string, env: NodeJS.ProcessEnv = process.env): TemporalConnectionOptions {
  const opts: TemporalConnectionOptions = { address };
  const certPath = env.TEMPORAL_TLS_CERT;
  const keyPath = env.TEMPORAL_TLS_KEY;
  if (certPath || keyPath) {
    if (!certPath || !keyPath)
      throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together (paths to PEM files)');
    opts.tls = {
      clientCertPair: { crt: fs.readFileSync(certPath), key: fs.readFileSync(keyPath) },
      serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME || undefined,
    };
  } else if (env.TEMPORAL_TLS === 'true' || env.TEMPORAL_API_KEY) {
    opts.tls = true;
  }
  if (env.TEMPORAL_API_KEY) opts.apiKey = env.TEMPORAL_API_KEY;
  return opts;
}
