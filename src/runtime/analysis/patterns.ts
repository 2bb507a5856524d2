/**
 * Pattern rules for languages without a parser-based analyser: one regex per line-level finding.
 * Advisory, like every finding: they point at lines worth a look, they prove nothing.
 */
export type Severity = 'info' | 'warning' | 'danger';

export interface PatternRule {
  rule: string;
  severity: Severity;
  pattern: RegExp;
  reason: string;
}

const r = (rule: string, severity: Severity, pattern: RegExp, reason: string): PatternRule => ({ rule, severity, pattern, reason });

const SHELL: PatternRule[] = [
  r('file_delete', 'danger', /\brm\s+(-[a-zA-Z]*[rf][a-zA-Z]*\s+)+(\/|~|\$HOME|\*)(\s|$)/, 'recursive delete of a broad path'),
  r('network', 'warning', /\b(curl|wget|nc|ncat|ssh|scp)\b|\/dev\/tcp\//, 'network access'),
  r('shell', 'danger', /\b(curl|wget)\b[^|\n]*\|\s*(ba|z)?sh\b/, 'pipes a download into a shell'),
  r('eval', 'warning', /(^|[;&|\s])eval\s/, 'evaluates a string as a command'),
  r('process', 'danger', /:\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}/, 'fork bomb'),
  r('process', 'warning', /\b(kill\s+-9\s+-1|killall|pkill)\b/, 'kills processes broadly'),
  r('file_write', 'warning', />\s*\/(etc|usr|bin|boot|dev\/sd)/, 'writes to a system path'),
  r('privilege', 'danger', /\b(sudo|su\s|chmod\s+[0-7]*s|setuid)\b/, 'asks for more privilege'),
];

const BY_LANGUAGE: Record<string, PatternRule[]> = {
  bash: SHELL,
  sh: SHELL,
  javascript: [
    r('process', 'warning', /\bchild_process\b|\b(exec|execSync|spawn|spawnSync|fork)\s*\(/, 'starts a process'),
    r('eval', 'danger', /\beval\s*\(|\bnew\s+Function\s*\(/, 'evaluates a string as code'),
    r('file_write', 'info', /\b(writeFile|writeFileSync|appendFile|createWriteStream|rmSync|unlink|rm)\s*\(/, 'writes or deletes files'),
    r('network', 'warning', /\b(fetch\s*\(|require\(['"](node:)?(net|http|https|dgram|dns)['"]\)|from\s+['"](node:)?(net|http|https|dgram|dns)['"])/, 'network access'),
    r('native_code', 'danger', /\bprocess\.dlopen\b|\.node['"]\)/, 'loads native code'),
  ],
  ruby: [
    r('process', 'warning', /\b(system|exec|spawn|fork|IO\.popen|Open3)\b|`[^`]+`|%x[{(]/, 'starts a process'),
    r('eval', 'danger', /\b(eval|instance_eval|class_eval)\b/, 'evaluates a string as code'),
    r('file_write', 'info', /\bFile\.(write|open\([^)]*['"][wa])|FileUtils\.rm/, 'writes or deletes files'),
    r('network', 'warning', /\b(Net::HTTP|TCPSocket|open-uri|Socket)\b/, 'network access'),
  ],
  perl: [
    r('process', 'warning', /\b(system|exec|fork)\b|`[^`]+`|\bqx[{(/]/, 'starts a process'),
    r('eval', 'warning', /\beval\s*["'$]/, 'evaluates a string as code'),
    r('file_write', 'info', /\bopen\s*\([^)]*['"]\s*>|\bunlink\b/, 'writes or deletes files'),
    r('network', 'warning', /\b(IO::Socket|LWP|Net::|HTTP::Tiny)\b/, 'network access'),
  ],
  php: [
    r('process', 'danger', /\b(exec|shell_exec|system|passthru|popen|proc_open|pcntl_fork)\s*\(|`[^`]+`/, 'starts a process or a shell'),
    r('eval', 'danger', /\b(eval|assert|create_function)\s*\(/, 'evaluates a string as code'),
    r('file_write', 'info', /\b(file_put_contents|fwrite|unlink|rmdir)\s*\(/, 'writes or deletes files'),
    r('network', 'warning', /\b(fsockopen|curl_exec|stream_socket_client)\s*\(|file_get_contents\s*\(\s*['"]https?:/, 'network access'),
  ],
  go: [
    r('process', 'warning', /\bexec\.Command\b|\bsyscall\.(Exec|ForkExec)\b/, 'starts a process'),
    r('file_write', 'info', /\bos\.(WriteFile|Create|Remove|RemoveAll|OpenFile)\b/, 'writes or deletes files'),
    r('network', 'warning', /\bnet\.(Dial|Listen)|\bhttp\.(Get|Post|ListenAndServe)/, 'network access'),
    r('native_code', 'warning', /\bimport\s+"C"|\bunsafe\./, 'native code or unsafe memory access'),
  ],
  rust: [
    r('process', 'warning', /\bCommand::new\b/, 'starts a process'),
    r('file_write', 'info', /\bfs::(write|remove_file|remove_dir_all)\b|File::create\b/, 'writes or deletes files'),
    r('network', 'warning', /\b(TcpStream|TcpListener|UdpSocket)\b/, 'network access'),
    r('native_code', 'warning', /\bunsafe\s*\{|extern\s+"C"/, 'unsafe code or foreign functions'),
  ],
  c: [
    r('process', 'warning', /\b(system|popen|fork|exec[lv]p?e?)\s*\(/, 'starts a process'),
    r('file_write', 'info', /\bfopen\s*\([^)]*"[wa]|\b(unlink|remove|rmdir)\s*\(/, 'writes or deletes files'),
    r('network', 'warning', /\b(socket|connect|bind)\s*\(/, 'network access'),
    r('memory', 'warning', /\b(gets|strcpy|strcat|sprintf)\s*\(/, 'unbounded copy: buffer overflow risk'),
  ],
  java: [
    r('process', 'warning', /\b(Runtime\.getRuntime\(\)\.exec|ProcessBuilder)\b/, 'starts a process'),
    r('file_write', 'info', /\b(FileWriter|FileOutputStream|Files\.(write|delete))\b/, 'writes or deletes files'),
    r('network', 'warning', /\b(Socket|ServerSocket|HttpClient|URL\s*\()\b/, 'network access'),
    r('native_code', 'danger', /\bSystem\.(loadLibrary|load)\s*\(|\bnative\s+\w+\s*\(/, 'loads native code'),
  ],
  r: [
    r('process', 'warning', /\b(system|system2|shell)\s*\(/, 'starts a process'),
    r('eval', 'warning', /\beval\s*\(\s*parse\s*\(/, 'evaluates a string as code'),
    r('file_write', 'info', /\b(writeLines|write\.csv|file\.remove|unlink|saveRDS)\s*\(/, 'writes or deletes files'),
    r('network', 'warning', /\b(download\.file|url|socketConnection)\s*\(/, 'network access'),
  ],
};
BY_LANGUAGE.typescript = BY_LANGUAGE.javascript ?? [];
BY_LANGUAGE.cpp = [...(BY_LANGUAGE.c ?? []), r('memory', 'info', /\breinterpret_cast\b/, 'reinterprets memory')];

export function patternRules(language: string): PatternRule[] {
  return BY_LANGUAGE[language] ?? [];
}
