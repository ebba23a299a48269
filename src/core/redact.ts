/**
 * Redaction: the values of the worker's secrets are replaced by a marker (`[redacted:ANTHROPIC_API_KEY]`) wherever
 * text from agent commands, files or models enters longrun's stored state — tool results, receipts, transcripts,
 * handoffs, model replies — before it is stored or sent to a model. Defence in depth behind the sandbox: it catches a
 * value that appears verbatim, not one the agent's code transformed (encoded, split, reversed).
 */

/** Environment names whose values are secrets; also never passed to agent commands (src/tools/sandbox.ts). */
export const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL/i;

/** Shorter values are not redacted: they would match ordinary text ("true", "1", "us-east"). */
export const MIN_SECRET_LENGTH = 8;
/** Values taken out of a credential file are longer (tokens, key lines); shorter ones are settings (regions, names). */
export const MIN_FILE_SECRET_LENGTH = 16;

export interface Secret {
  /** What the marker says: a variable name or a file path. */
  name: string;
  value: string;
}

/** Replaces every secret value inside strings, arrays and plain objects; returns its input when there are none. */
export type Redact = <T>(value: T) => T;

export const marker = (name: string) => `[redacted:${name}]`;

/** Secret-named variables of `env` with a value long enough to be a secret. */
export function envSecrets(env: NodeJS.ProcessEnv): Secret[] {
  const out: Secret[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && SECRET_NAME.test(name) && value.trim().length >= MIN_SECRET_LENGTH) {
      out.push({ name, value: value.trim() });
    }
  }
  return out;
}

const PEM_ARMOR = /^-----(BEGIN|END) /;

/**
 * The secret material of a credential file (a TLS or SSH key, ~/.npmrc, ~/.aws/credentials, a JSON token store):
 * the whole text, each long line but PEM armor, each value after `=` or `:` and each quoted string — so printing the
 * file, one line of it or one token out of it are all caught.
 */
export function fileSecrets(name: string, text: string): Secret[] {
  const values = new Set<string>();
  const add = (v: string, min = MIN_FILE_SECRET_LENGTH) => {
    const value = v
      .trim()
      .replace(/^["']|["'],?$/g, '')
      .trim();
    if (value.length >= min) values.add(value);
  };
  add(text, MIN_SECRET_LENGTH);
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (PEM_ARMOR.test(line)) continue;
    add(line);
    const eq = line.indexOf('=');
    if (eq >= 0) add(line.slice(eq + 1));
    const colon = line.indexOf(': ');
    if (colon >= 0) add(line.slice(colon + 2));
    for (const quoted of line.matchAll(/"([^"]+)"|'([^']+)'/g)) add(quoted[1] ?? quoted[2]);
  }
  return [...values].map((value) => ({ name, value }));
}

/** An object literal or parsed JSON, from any realm (SDKs and test sandboxes have their own Object.prototype). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!value || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** A redactor for `secrets`; the longest values are replaced first, so a secret inside another is not left half. */
export function redactor(secrets: readonly Secret[]): Redact {
  const byValue = new Map<string, string>();
  for (const s of secrets) if (!byValue.has(s.value)) byValue.set(s.value, marker(s.name));
  const pairs = [...byValue].sort((a, b) => b[0].length - a[0].length);
  if (pairs.length === 0) return <T>(value: T) => value;

  const text = (s: string): string => {
    let out = s;
    for (const [value, mark] of pairs) if (out.includes(value)) out = out.split(value).join(mark);
    return out;
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value);
    if (Array.isArray(value)) return value.map(walk);
    if (isPlainObject(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    }
    return value;
  };
  return <T>(value: T) => walk(value) as T;
}
