# Hangar's builtin bash REPL driver: one persistent shell, so cd and variables persist.
# Hangar writes "<id> <byte length>\n<code>" to fd 3; the driver answers on fd 4 with framed JSON
# ("<length>\n<json>"), after writing the session's marker to stdout and stderr at the end of
# each cell. SIGINT ends the running cell (the function returns 130), not the shell.
__hangar_mark="$HANGAR_DRIVER_MARK"
unset HANGAR_DRIVER_MARK
__hangar_count=0

__hangar_send() {
  printf '%d\n%s' "${#1}" "$1" >&4
}

__hangar_cell() {
  trap 'trap - INT; return 130' INT
  eval "$1"
}

trap '' INT
__hangar_send '{"type":"ready"}'
while read -r __hangar_id __hangar_len <&3; do
  __hangar_code=$(head -c "$__hangar_len" <&3; printf x)
  __hangar_code=${__hangar_code%x}
  __hangar_count=$((__hangar_count + 1))
  __hangar_cell "$__hangar_code"
  __hangar_status=$?
  trap '' INT
  printf '%s' "$__hangar_mark"
  printf '%s' "$__hangar_mark" >&2
  if [ "$__hangar_status" -eq 0 ]; then
    __hangar_send "{\"type\":\"done\",\"id\":$__hangar_id,\"status\":\"ok\",\"execution_count\":$__hangar_count,\"result\":null,\"error\":null,\"exit_status\":0}"
  else
    __hangar_send "{\"type\":\"done\",\"id\":$__hangar_id,\"status\":\"error\",\"execution_count\":$__hangar_count,\"result\":null,\"exit_status\":$__hangar_status,\"error\":{\"name\":\"ExitStatus\",\"message\":\"the cell ended with exit status $__hangar_status\",\"traceback\":null}}"
  fi
done
