import { controlToolSpecs } from '../core/control-tools';
import type { ToolSpec } from '../core/types';
import { toolSpecs } from '../tools/schemas';

/**
 * The tools each role sees, by name. Workflows pass the toolset's name, not the schemas, so tool definitions
 * (several KB) never enter workflow history.
 */
export type Toolset = 'worker' | 'planner' | 'judge' | 'none';

const TOOLSETS: Record<Toolset, ToolSpec[]> = {
  worker: [...toolSpecs('worker'), controlToolSpecs.finish],
  planner: [...toolSpecs('planner'), controlToolSpecs.submitPlan],
  judge: [controlToolSpecs.submitVerdict],
  none: [],
};

export function toolsetSpecs(toolset: Toolset): ToolSpec[] {
  const specs = TOOLSETS[toolset];
  if (!specs) throw new Error(`unknown toolset '${toolset}'`);
  return specs;
}
