/** The simulated model server's vocabulary: requests in a neutral shape, and what a scenario answers. */

export type SimApi = 'openai' | 'anthropic';

export interface SimToolCall {
  id: string;
  name: string;
  arguments: unknown;
}

/** One message of a request, flattened: Anthropic tool_result blocks become `tool` messages. */
export interface SimMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  text: string;
  toolCalls?: SimToolCall[];
  /** For role 'tool': the call this is the result of. */
  toolCallId?: string;
  isError?: boolean;
}

/** What a scenario sees of a request. */
export interface SimRequest {
  /** 0-based number of the request on this server. */
  index: number;
  api: SimApi;
  path: string;
  model: string;
  /** Number of assistant messages already in the request. */
  turn: number;
  /** The system prompt (all system text). */
  system: string;
  messages: SimMessage[];
  /** All message text (system included), joined by newlines: what `match.contains` searches. */
  text: string;
  /** Text of the last message. */
  lastText: string;
  /** Names of the tools offered. */
  tools: string[];
  /** The raw JSON body. */
  body: unknown;
}

export type Latency = { ms: number } | { p50Ms: number; p90Ms: number };

export type Fault =
  | { status: number; message?: string; code?: string; retryAfterSeconds?: number; retryAfterMs?: number }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'malformed-tool-json' }
  | { kind: 'context-length' };

export interface SimToolCallSpec {
  id?: string;
  name: string;
  arguments?: unknown;
}

/** A reply: text and/or tool calls, or a fault instead. */
export interface SimResponse {
  text?: string;
  toolCalls?: SimToolCallSpec[];
  stopReason?: 'end_turn' | 'tool_use' | 'max_tokens';
  latency?: Latency;
  fault?: Fault;
}

/** A scripted scenario: any function of the request. Returning null/undefined means "no match" (HTTP 400). */
export type ScenarioFn = (
  request: SimRequest,
) => SimResponse | null | undefined | Promise<SimResponse | null | undefined>;

export interface RuleMatch {
  /** Regex over the model name. */
  model?: string;
  /** Regex (multiline) over all message text. */
  contains?: string;
  /** Regex (multiline) over the system prompt. */
  system?: string;
  /** Regex (multiline) over the last message's text (a tool result's content, for instance). */
  last?: string;
  /** Exact number of assistant messages already in the request, or a range. */
  turn?: number | { min?: number; max?: number };
  api?: SimApi;
  /** Regex: some offered tool's name matches. */
  tool?: string;
}

export interface Rule {
  /** Shown in logs and errors. */
  name?: string;
  match?: RuleMatch;
  respond?: Omit<SimResponse, 'latency' | 'fault'>;
  latency?: Latency;
  fault?: Fault;
  /** How many requests this rule may answer before it is used up; unlimited by default. */
  times?: number;
}

export interface RulesScenario {
  rules: Rule[];
  /** Latency for rules without their own. */
  latency?: Latency;
  /** Seed of the latency sampler and the ids (deterministic runs). */
  seed?: number;
  /** When set, requests with another key get a 401 like the real APIs. */
  apiKey?: string;
}

export type Scenario = RulesScenario | ScenarioFn;
