#!/bin/sh
# Hangar's supervisor of one background process. It outlives the server (own session, no pipes to
# it), so the exit status and time are recorded even when Hangar is gone meanwhile.
#   supervisor.sh DIR SEGMENT_BYTES KEEP_SEGMENTS CAPTURE(1|0) TIMEOUT_S -- COMMAND...
# Output goes through a FIFO to a writer that cuts it into numbered segments
# (DIR/output.log.000000, ...) of SEGMENT_BYTES and keeps the last KEEP_SEGMENTS: segment k holds
# bytes [k*SEGMENT_BYTES, (k+1)*SEGMENT_BYTES) of the whole output, so byte offsets stay valid
# after old segments are rotated away. DIR/output.log links to the segment being written.
# COMMAND is launcher → [bubblewrap →] reaper → program; the reaper (drivers/reaper.py) writes how
# the program ended ("exit N" / "signal N") to fd 3, which goes to DIR/program_status: this shell's
# `wait` (and bubblewrap) report a death by signal N as 128 + N, the same as an exit code.
# At level isolated, fd 9 carries bubblewrap's options (`--args 9`): only the command gets it.
dir=$1 seg=$2 keep=$3 capture=$4 timeout=$5
shift 6
fifo="$dir/output.fifo"

# head -c copies exactly SEGMENT_BYTES and never reads past them; stdbuf -o0 makes it write each
# chunk as it arrives (stdio would otherwise hold output back until 4 KiB or the end).
pump=/usr/bin/head
[ -x /usr/bin/stdbuf ] && pump="/usr/bin/stdbuf -o0 /usr/bin/head"

if [ "$capture" = 1 ]; then
  rm -f "$fifo"
  /usr/bin/mkfifo -m 600 "$fifo" || exit 125
  (
    n=0
    while :; do
      name=$(printf 'output.log.%06d' "$n")
      : > "$dir/$name"
      /usr/bin/ln -sfn "$name" "$dir/output.log"
      old=$((n - keep))
      [ "$old" -ge 0 ] && rm -f "$dir/$(printf 'output.log.%06d' "$old")"
      $pump -c "$seg" >> "$dir/$name"
      [ "$(/usr/bin/stat -c %s "$dir/$name")" -lt "$seg" ] && break
      n=$((n + 1))
    done
  ) < "$fifo" 9<&- &
  writer=$!
  out="$fifo"
else
  writer=
  out=/dev/null
fi

# setsid: the process leads its own session and group, so a kill reaches its whole tree and never
# this supervisor. With a timeout, coreutils timeout sends TERM, then KILL 5 s later.
if [ "$timeout" != 0 ]; then
  /usr/bin/setsid /usr/bin/timeout -k 5 "$timeout" "$@" > "$out" 2>&1 < /dev/null 3> "$dir/program_status" &
else
  /usr/bin/setsid "$@" > "$out" 2>&1 < /dev/null 3> "$dir/program_status" &
fi
child=$!
exec 9<&-
echo "$child" > "$dir/pid.tmp" && mv -f "$dir/pid.tmp" "$dir/pid"

wait "$child"
status=$?
# Whatever the process left behind in its group ends with it, as for one-shot runs.
kill -KILL -- "-$child" 2>/dev/null
# The log is complete once the writer has drained the FIFO: wait for it (up to 2 s, in case a
# process that left the group still holds the FIFO open) before saying the process ended, so a
# reader that sees the exit status also sees all of the output.
# (Until this shell waits for it, a finished writer is a zombie: its state, not kill -0, says so.)
i=0
while [ -n "$writer" ] && [ "$i" -lt 40 ]; do
  state=$(/usr/bin/cut -d ' ' -f 3 "/proc/$writer/stat" 2>/dev/null)
  [ -z "$state" ] || [ "$state" = Z ] && break
  /usr/bin/sleep 0.05
  i=$((i + 1))
done
printf '%s %s\n' "$status" "$(date +%s%3N)" > "$dir/exit_status.tmp" && mv -f "$dir/exit_status.tmp" "$dir/exit_status"
wait
rm -f "$fifo"
