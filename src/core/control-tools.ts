import { z } from 'zod';
import { finishSchema, planSchema, verdictSchema } from './schemas';
import { CONTROL } from './control-names';
import type { ToolSpec } from './types';

/**
 * Control tools end an agent's turn sequence and hand structured data to the workflow: a worker's handoff, a
 * planner's plan, the judge's verdict. Their arguments come back inline from the model activity; the workflow
 * validates them with the same zod schemas.
 */
export { CONTROL } from './control-names';

const spec = (name: string, description: string, schema: z.ZodType): ToolSpec => {
  const parameters = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  delete parameters.$schema;
  return { name, description, parameters };
};

function build() {
  return {
    finish: spec(
      CONTROL.finish,
      'Hand off your task. Call once, when the work is complete, committed tests pass, and nothing is left half-done ' +
        '(outcome "done": your work will be merged), or when you cannot complete it (outcome "blocked": explain why). ' +
        'Your handoff goes to the planner: be specific.',
      finishSchema,
    ),
    submitPlan: spec(
      CONTROL.submitPlan,
      'Submit your plan: tasks for workers and areas for sub-planners. You may call it again later to add work as ' +
        'handoffs arrive. Set done=true when your scope needs nothing more.',
      planSchema,
    ),
    submitVerdict: spec(
      CONTROL.submitVerdict,
      'Submit your verdict on this cycle: continue (another fresh cycle), done (the goal is met and verified), or stop ' +
        '(further cycles will not help). Rewrite the scratchpad for the next cycle.',
      verdictSchema,
    ),
  };
}

let built: ReturnType<typeof build> | undefined;

/**
 * Built on first use, not at import: workflows import this module for CONTROL, and the workflow sandbox runs module
 * initialisation again for every workflow it starts — z.toJSONSchema of three schemas cost each new workflow ~10 ms
 * of CPU (bench/scaling.ts, worker profile).
 */
export const controlToolSpecs = {
  get finish(): ToolSpec {
    return (built ??= build()).finish;
  },
  get submitPlan(): ToolSpec {
    return (built ??= build()).submitPlan;
  },
  get submitVerdict(): ToolSpec {
    return (built ??= build()).submitVerdict;
  },
};
