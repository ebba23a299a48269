import type { AgentRow, RunSnapshot } from '../../src/cli/lib/snapshot';
import type { RunStatusView } from '../../src/workflows/definitions';

/** Snapshots of a run as the CLI sees them, for the pure rendering and report tests. */
export const row = (key: string, role: AgentRow['role'], state: string, title = key): AgentRow => ({
  id: `r/${key}`,
  key,
  role,
  title,
  state,
  step: 2,
  lastTool: 'read_file',
  costUsd: 0.01,
  startedAt: 1_000,
  answered: true,
});

export const view = (over: Partial<RunStatusView> = {}): RunStatusView => ({
  runId: 'r',
  status: 'running',
  cycle: 1,
  phase: 'planning',
  paused: false,
  stopRequested: false,
  activeAgents: {},
  agents: [],
  tasks: { running: 0, merged: 0, failed: 0, abandoned: 0 },
  commits: 0,
  usage: {},
  costUsd: 0,
  lastVerdict: null,
  lastReceipt: null,
  resultBranch: 'longrun/r',
  ...over,
});

export const snap = (over: Partial<RunSnapshot> = {}): RunSnapshot => ({
  at: 0,
  runId: 'r',
  workflowStatus: 'RUNNING',
  taskQueue: 'longrun',
  executionStart: new Date(0),
  closeTime: null,
  view: view(),
  viewError: null,
  agents: [],
  result: null,
  failure: null,
  memo: {},
  ...over,
});
