import type { DoctorReport } from '../runtime/doctor.js';

export function formatDoctor(report: DoctorReport): string {
  const mark = (ok: boolean): string => (ok ? 'ok ' : '-- ');
  const lines: string[] = [];
  lines.push(`node       ${report.node.version} (${report.node.path})`);
  lines.push(`data dir   ${report.dataDir}`);
  lines.push('');
  lines.push('languages');
  for (const l of report.languages) {
    lines.push(`  ${mark(l.available)}${l.id.padEnd(12)}${(l.version ?? '').padEnd(10)}${l.path ?? 'not found'}`);
    if (l.command) lines.push(`     ${''.padEnd(22)}${l.command}`);
  }
  lines.push('');
  lines.push('python interpreters (for environments)');
  for (const i of report.interpreters) lines.push(`  ${mark(i.usable)}${i.version.padEnd(10)}${i.source.padEnd(8)}${i.path}`);
  if (report.interpreters.length === 0) lines.push('  -- none found (apt-get install python3 python3-venv)');
  lines.push('');
  lines.push('jupyter kernelspecs');
  for (const k of report.kernelspecs) lines.push(`  ok ${k.name.padEnd(12)}${k.language.padEnd(12)}${k.display_name}`);
  if (report.kernelspecs.length === 0) lines.push('  -- none (apt-get install python3-ipykernel; repl_create still has builtin drivers)');
  lines.push('');
  lines.push('sandbox');
  const b = report.sandbox.bubblewrap;
  lines.push(`  level      ${report.sandbox.level}: ${report.sandbox.note}`);
  lines.push(`  ${mark(b.found)}bubblewrap ${b.found ? `${b.version} (${b.path}); namespaces ${b.namespaces ? 'work' : `do not work${b.error ? `: ${b.error}` : ''}`}` : 'not found (apt-get install bubblewrap)'}`);
  lines.push(`  network    ${report.sandbox.network}`);
  lines.push(`  limits     ${Object.entries(report.sandbox.limits).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`  ${mark(report.cgroups.mode !== 'none')}cgroups    ${report.cgroups.mode}: ${report.cgroups.detail}${report.cgroups.mode === 'none' ? ' (falls back to rlimits and /proc tracking)' : ''}`);
  lines.push('');
  lines.push(`${mark(report.git.found)}git        ${report.git.found ? `${report.git.version} (${report.git.path})` : 'not found (apt-get install git)'}`);
  return `${lines.join('\n')}\n`;
}
