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
