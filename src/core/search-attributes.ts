import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Typed search attributes set on every workflow of a run, so a user can filter a run's whole tree in the
 * Web UI or with `temporal workflow list --query 'LongrunRunId="my-run"'`.
 */
export const RUN_ID = defineSearchAttributeKey('LongrunRunId', SearchAttributeType.KEYWORD);
export const ROLE = defineSearchAttributeKey('LongrunRole', SearchAttributeType.KEYWORD);
export const CYCLE = defineSearchAttributeKey('LongrunCycle', SearchAttributeType.INT);
export const STATUS = defineSearchAttributeKey('LongrunStatus', SearchAttributeType.KEYWORD);
export const COST_USD = defineSearchAttributeKey('LongrunCostUsd', SearchAttributeType.DOUBLE);

/** Name → type as `temporal operator search-attribute create --type` spells it. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Int' | 'Double'> = {
  LongrunRunId: 'Keyword',
  LongrunRole: 'Keyword',
  LongrunCycle: 'Int',
  LongrunStatus: 'Keyword',
  LongrunCostUsd: 'Double',
};
