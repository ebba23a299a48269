/**
 * Domain types shared by workflows and activities. Pure data: no Node built-ins, no I/O,
 * so workflow code may import this file.
 */

export const ROLES = ['planner', 'subplanner', 'worker', 'judge', 'compactor'] as const;
export type Role = (typeof ROLES)[number];

export const PROVIDERS = ['openai', 'anthropic', 'openai-compatible'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** What a user may say about one role's model. */
export interface ModelSettings {
  provider: ProviderName;
  model: string;
  maxTokens?: number;
  temperature?: number;
  reasoningEffort?: 'low' | 'medium' | 'high';
  /** Context window in tokens; defaults come from the price/model table. */
  contextWindow?: number;
}

/** USD per one million tokens. */
export interface Price {
  inputPerMTok: number;
  outputPerMTok: number;
  cacheReadPerMTok: number;
  cacheWritePerMTok: number;
}

/** Settings after defaults are applied once at run start; recorded in the run's state. */
export interface ResolvedModel {
  provider: ProviderName;
  model: string;
  maxTokens: number;
  temperature?: number;
  reasoningEffort?: 'low' | 'medium' | 'high';
  contextWindow: number;
  /** null when the model is not in the price table: its cost is unknown, never 0. */
  price: Price | null;
}

export type RoleModels = Record<Role, ResolvedModel>;

/** Token counts and cost of one model call. */
export interface CallUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** null when the model has no price. */
  costUsd: number | null;
}

/** Usage summed over many calls. */
export interface Usage {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Sum over the calls whose cost is known. */
  costUsd: number;
  /** Calls whose cost is unknown (model not in the price table). */
  unpricedCalls: number;
}

export type UsageByRole = Partial<Record<Role, Usage>>;

// ---------------------------------------------------------------------------
// Transcripts (claim-check): the conversation lives in the artifact store on disk,
// the workflow holds only { id, length }. Entries are written at explicit indexes,
// so an activity that runs twice overwrites instead of appending twice.

export interface ToolCall {
  id: string;
  name: string;
  /** Parsed JSON arguments; undefined when the model sent malformed JSON (see argumentsError). */
  arguments?: unknown;
  /** Raw text and parse error when the arguments were not valid JSON. */
  argumentsError?: string;
  /** A short preview of the arguments for the Web UI ("npm test", "src/a.ts"); set by the model activity. */
  preview?: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string; isError?: boolean };

export interface TranscriptRef {
  id: string;
  length: number;
}

/** A tool as the model sees it. `parameters` is a JSON Schema object (exported from zod). */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

// ---------------------------------------------------------------------------
// Model activity

export interface ModelCallInput {
  runId: string;
  /** Workflow id of the agent making the call; used in logs and error messages. */
  agentId: string;
  role: Role;
  model: ResolvedModel;
  /** Transcript to send; the assistant reply is written at index `transcript.length`. */
  transcript: TranscriptRef;
  tools: ToolSpec[];
  /** Tool calls whose arguments come back inline (control tools like finish, submit_plan, verdict). */
  inlineArgumentsFor?: string[];
  /** 'required' forces a tool call where the provider supports it. */
  toolChoice?: 'auto' | 'required';
}

export interface ModelCallResult {
  /** The transcript including the assistant reply (length + 1). */
  transcript: TranscriptRef;
  /** The reply's text, cut to a preview; the whole text is in the transcript. */
  text: string;
  /** Tool calls; `arguments` present only for tools named in inlineArgumentsFor. */
  toolCalls: ToolCall[];
  stopReason: 'end_turn' | 'tool_use' | 'max_tokens' | 'other';
  usage: CallUsage;
  latencyMs: number;
  requestId?: string;
}

/** ApplicationFailure types raised by the model activity. */
/**
 * Workspace tools that change nothing: the agent loop runs them as local activities (src/workflows/activities.ts).
 * Every other workspace tool writes (test/tools checks that the two lists cover all tools).
 */
export const READ_ONLY_TOOLS: readonly string[] = ['read_file', 'list_dir', 'search', 'git_diff', 'git_status'];

export const MODEL_ERRORS = {
  rateLimited: 'ModelRateLimited', // retryable, nextRetryDelay from retry-after
  unavailable: 'ModelUnavailable', // retryable: 5xx, 529, timeouts, resets
  auth: 'ModelAuthError', // non-retryable: 401/403
  notFound: 'ModelNotFound', // non-retryable: 404 unknown model
  badRequest: 'ModelBadRequest', // non-retryable: 400
  contextLength: 'ContextLengthExceeded', // non-retryable: the agent loop compacts
} as const;

// ---------------------------------------------------------------------------
// Tools

export interface WorkspaceRef {
  /** Absolute path of the worktree (or read-only checkout) on the host that owns it. */
  path: string;
  readOnly: boolean;
}

export interface ToolCallInput {
  runId: string;
  agentId: string;
  workspace: WorkspaceRef;
  /** Transcript holding the assistant message with the call; the result is written at `resultIndex`. */
  transcriptId: string;
  assistantIndex: number;
  callId: string;
  resultIndex: number;
  /** Timeout for run_command, ms. */
  commandTimeoutMs?: number;
  /** The break this agent is the fixer of (TaskSpec.fixes): its test runs are told it owns the known failures. */
  fixes?: string;
}

export interface ToolCallResult {
  ok: boolean;
  /** One short line for the Web UI and the workflow's state ("exit 0", "wrote src/a.ts"). */
  summary: string;
  name: string;
}

// ---------------------------------------------------------------------------
// Workspaces and integration

export interface HubInfo {
  hubPath: string;
  targetBranch: string;
  baseCommit: string;
}

export interface WorkspaceInfo {
  path: string;
  branch: string;
  baseCommit: string;
  /** Set when the task branch already existed in the hub (resumed from a checkpoint). */
  resumedFrom?: string;
  /** True for a planner's detached checkout of the target tip (branch then names the target it snapshots). */
  readOnly?: boolean;
}

/**
 * A shared ref found where longrun did not put it (the target branch in the hub, or the published branch in the
 * user's repository), and put back. `taskId`/`command` name the agent command that moved it, when known.
 */
export interface RefIncident {
  /** ms since the epoch, when longrun noticed. */
  at: number;
  /** `hub refs/heads/longrun/<runId>` or `repo refs/heads/longrun/<runId>`. */
  ref: string;
  /** What the ref held; null when it had been deleted. */
  found: string | null;
  /** The commit longrun restored it to. */
  restored: string;
  /** The step that noticed: an agent's command, integration, verification or publishing. */
  detectedBy: 'command' | 'integrate' | 'verify' | 'publish';
  taskId?: string;
  agentId?: string;
  command?: string;
}

/** `incidents`: shared refs found moved behind longrun's back and restored during this call (and the task's own). */
export type IntegrationResult = (
  | { status: 'merged'; commit: string; targetTip: string; casRetries: number; filesChanged: string[] }
  | { status: 'already-merged'; commit: string; filesChanged: string[] }
  | { status: 'no-changes' }
  | { status: 'conflict'; onto: string; files: Array<{ path: string; content: string }> }
  /** mergePolicy 'tests-pass': the test command failed on the task merged with the tip `onto`, in its workspace. */
  | {
      status: 'tests-failed';
      onto: string;
      command: string;
      exitCode: number | null;
      timedOut: boolean;
      outputTail: string;
    }
) & { incidents?: RefIncident[] };

/** The outcome of running the test command on a clean checkout of a commit. */
export interface Receipt {
  commit: string;
  command: string;
  exitCode: number | null;
  passed: boolean;
  timedOut: boolean;
  durationMs: number;
  outputTail: string;
  /** The target was found moved behind longrun's back before this verification, and restored. */
  incidents?: RefIncident[];
}

// ---------------------------------------------------------------------------
// Plans, handoffs, verdicts

export interface TaskSpec {
  title: string;
  description: string;
  acceptance: string[];
  files: string[];
  /** Set on the one task that fixes a break a red alert named: that break's id (its first red commit, 12 chars). */
  fixes?: string;
}

/** The target's known break, as agents' test runs are told of it (workspace/known-red.ts). */
export interface KnownRed {
  /** The break's id: its first red commit, 12 chars (TaskSpec.fixes names it). */
  id: string;
  command: string;
  outputTail: string;
  /** Titles of the tasks merged since the last green commit. */
  suspects: string[];
  /** The task that owns the break, once a planner (or longrun, when the planner did not act) queued it. */
  fixer: { title: string; by: 'planner' | 'longrun' } | null;
}

export interface ScopeSpec {
  scope: string;
  description: string;
}

export interface Plan {
  /** The planner's reasoning in a few sentences, kept for the report. */
  rationale: string;
  tasks: TaskSpec[];
  subplanners: ScopeSpec[];
  /** True when the planner judges its scope complete and wants no more work. */
  done: boolean;
}

export type HandoffStatus = 'merged' | 'failed' | 'abandoned';

/** A planned task (or sub-planner scope) that was never started, with why: planned work never vanishes. */
export interface NotAttempted {
  title: string;
  reason: string;
  /** Task id of the planner that planned it (`c1/planner`, `c1/planner/s1`). */
  plannedBy: string;
}

export interface Handoff {
  taskId: string;
  title: string;
  status: HandoffStatus;
  summary: string;
  notes: string;
  concerns: string[];
  deviations: string[];
  findings: string[];
  commit: string | null;
  filesChanged: string[];
  usage: UsageByRole;
  steps: number;
  /** Shared refs this task's commands moved (or that were found moved when it merged), restored by longrun. */
  incidents?: RefIncident[];
}

export type Decision = 'continue' | 'done' | 'stop';

export interface Verdict {
  decision: Decision;
  reasons: string[];
  nextFocus: string;
  scratchpad: string;
}
