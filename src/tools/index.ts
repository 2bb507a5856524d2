import { HangarError } from '../runtime/errors.js';
import { analysisTools } from './analysis.js';
import { contentTools } from './content.js';
import { CORE_TOOLSETS, TOOLSETS, type ToolDefinition, type Toolset } from './define.js';
import { environmentTools } from './environments.js';
import { executionTools } from './execution.js';
import { replTools } from './repl.js';
import { processTools } from './processes.js';
import { workspaceTools } from './workspace.js';

/** Every tool Hangar has, in the order they are listed. One aggregator: the only list. */
export const ALL_TOOLS: readonly ToolDefinition[] = [
  ...environmentTools,
  ...executionTools,
  ...replTools,
  ...workspaceTools,
  ...processTools,
  ...contentTools,
  ...analysisTools,
];

/** Expands `--toolsets` (core, all, or names) to the set of toolsets to expose. */
export function resolveToolsets(requested: readonly string[]): Set<Toolset> {
  const out = new Set<Toolset>();
  for (const name of requested) {
    if (name === 'all') TOOLSETS.forEach((t) => out.add(t));
    else if (name === 'core') CORE_TOOLSETS.forEach((t) => out.add(t));
    else if ((TOOLSETS as readonly string[]).includes(name)) out.add(name as Toolset);
    else throw new HangarError('INVALID_ARGUMENT', `unknown toolset "${name}"; known: core, all, ${TOOLSETS.join(', ')}`);
  }
  return out;
}

export function selectTools(requested: readonly string[], tools: readonly ToolDefinition[] = ALL_TOOLS): ToolDefinition[] {
  const sets = resolveToolsets(requested);
  return tools.filter((tool) => sets.has(tool.toolset));
}
