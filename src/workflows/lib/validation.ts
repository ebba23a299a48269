import type * as ControlSchemas from '../../core/control-schemas';

/**
 * The control calls' zod schemas, built the first time a workflow validates one. With reuseV8Context the SDK
 * evaluates a workflow's modules afresh for every workflow it starts, so an import of zod at the top of a workflow
 * module made every agent's first workflow task build zod and every schema longrun has: ~30 ms of the workflow
 * thread per agent (profile of bench/scaling.ts), paid during the fan-out, when a planner starts all its children at
 * once. Now a worker builds zod and these few schemas when it calls finish, and nothing else ever.
 */
export function controlSchemas(): typeof ControlSchemas {
  // A require inside a function: webpack evaluates the module on the first call, in this workflow's module cache.
  return require('../../core/control-schemas');
}
