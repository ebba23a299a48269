import { READ_ONLY_TOOLS } from '../../src/core/types';
import { WORKSPACE_TOOL_NAMES, WRITE_TOOL_NAMES } from '../../src/tools/schemas';

/**
 * The agent loop runs READ_ONLY_TOOLS as local activities, which a replay after a crash may run again: a tool that
 * writes must never be on that list, and every tool must be on exactly one of the two lists.
 */
describe('read-only tools (run as local activities)', () => {
  it('are exactly the workspace tools that do not write', () => {
    expect([...READ_ONLY_TOOLS].sort()).toEqual(
      WORKSPACE_TOOL_NAMES.filter((t) => !WRITE_TOOL_NAMES.includes(t)).sort(),
    );
    for (const t of WRITE_TOOL_NAMES) expect(READ_ONLY_TOOLS).not.toContain(t);
  });
});
