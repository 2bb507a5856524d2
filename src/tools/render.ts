import type { ExecutionResult } from '../runtime/exec/result.js';
import type { ReplyBlock } from './define.js';

/**
 * The compact text an agent reads for an execution (DESIGN.md section 4): stdout, then stderr, then
 * the error and a one-line status; offloaded streams become resource links. Not a JSON dump: the
 * structured content carries every field.
 */
export function renderExecution(result: ExecutionResult): ReplyBlock[] {
  const parts: string[] = [];
  if (result.stdout) parts.push(result.stdout.endsWith('\n') ? result.stdout.slice(0, -1) : result.stdout);
  if (result.stderr) parts.push(`[stderr]\n${result.stderr.endsWith('\n') ? result.stderr.slice(0, -1) : result.stderr}`);
  if (result.error && result.error.traceback === null) parts.push(`[${result.error.name}] ${result.error.message}`);
  for (const warning of result.warnings) parts.push(`[warning] ${warning}`);
  const code = result.exit_code === null ? (result.signal ? `signal ${result.signal}` : 'no exit code') : `exit ${result.exit_code}`;
  parts.push(`[${result.status}: ${code}, ${Math.round(result.duration_ms)} ms]`);
  const blocks: ReplyBlock[] = [{ type: 'text', text: parts.join('\n') }];
  for (const [stream, ref] of [
    ['stdout', result.truncated?.stdout_ref_id],
    ['stderr', result.truncated?.stderr_ref_id],
  ] as const) {
    if (!ref) continue;
    blocks.push({
      type: 'resource_link',
      uri: `hangar://content/${ref}`,
      name: `${stream} (${ref})`,
      mimeType: 'text/plain',
      description: `The whole ${stream} (${stream === 'stdout' ? result.truncated?.stdout_bytes : result.truncated?.stderr_bytes} bytes); read in chunks with get_content.`,
    });
  }
  return blocks;
}
