import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { envSecrets, fileSecrets, redactor, SECRET_NAME, type Redact, type Secret } from '../core/redact';
import { HIDDEN_IN_HOME } from './sandbox';

/**
 * The worker's secrets, collected once when the worker starts, for redaction (src/core/redact.ts): its secret-named
 * variables (provider keys, TEMPORAL_API_KEY, tokens, ...); for such a variable that names a file (TEMPORAL_TLS_KEY,
 * GOOGLE_APPLICATION_CREDENTIALS) the file's contents instead of its path; and the contents of the credential stores
 * in its HOME (~/.ssh keys, ~/.npmrc, ~/.aws/credentials, ... the ones the sandbox hides), which an unsandboxed
 * command can read.
 */

const MAX_FILE_BYTES = 64 * 1024;
const MAX_FILES = 200;
/** Public halves and host lists: not secret, and redacting them would only confuse agents. */
const NOT_SECRET = /(\.pub|known_hosts(\.old)?|authorized_keys)$|^\.ssh\/config$/;

function readSmallText(file: string): string | null {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile() || stat.size > MAX_FILE_BYTES) return null;
    const text = fs.readFileSync(file, 'utf8');
    return text.includes('\0') ? null : text;
  } catch {
    return null;
  }
}

/** Files under a credential store (a file, or a directory two levels deep). */
function storeFiles(home: string, full: string, depth = 0, out: string[] = []): string[] {
  if (out.length >= MAX_FILES || NOT_SECRET.test(path.relative(home, full))) return out;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(full);
  } catch {
    return out;
  }
  if (stat.isFile()) out.push(full);
  else if (stat.isDirectory() && depth < 2) {
    for (const entry of fs.readdirSync(full)) {
      storeFiles(home, path.join(full, entry), depth + 1, out);
    }
  }
  return out;
}

export function workerSecrets(env: NodeJS.ProcessEnv, home = env.HOME || os.homedir()): Secret[] {
  const secrets: Secret[] = [];
  const plain: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !SECRET_NAME.test(name)) continue;
    const text = path.isAbsolute(value.trim()) ? readSmallText(value.trim()) : null;
    if (text !== null) secrets.push(...fileSecrets(name, text));
    else plain[name] = value;
  }
  secrets.push(...envSecrets(plain));
  for (const rel of HIDDEN_IN_HOME) {
    for (const file of storeFiles(home, path.join(home, rel))) {
      const text = readSmallText(file);
      if (text !== null) secrets.push(...fileSecrets(`~/${path.relative(home, file)}`, text));
    }
  }
  return secrets;
}

/** The redactor of this worker process. */
export function workerRedactor(env: NodeJS.ProcessEnv = process.env): Redact {
  return redactor(workerSecrets(env));
}
