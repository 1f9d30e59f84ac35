#!/usr/bin/env bash
# Process helpers shared by scripts/testenv.sh and its plug-ins (scripts/testenv.d/*.sh). Sourced, not run: the
# caller defines RUN (pid files), LOGS (log files), log() and die() first.

# alive PID: the process exists and is not a zombie.
alive() {
  [[ $1 =~ ^[0-9]+$ ]] && [ -r "/proc/$1/stat" ] || return 1
  local stat
  stat=$(<"/proc/$1/stat") || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# pid_of NAME PATTERN: the pid in run/NAME.pid if that process is alive and its command line contains PATTERN.
pid_of() {
  local pidfile="$RUN/$1.pid" pid
  [ -f "$pidfile" ] || return 1
  pid=$(<"$pidfile")
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
  printf '%s\n' "$pid"
}

# stop NAME PATTERN: stop the process of run/NAME.pid (TERM, then KILL after 10s); no-op if it is not running.
stop() {
  local pid i
  if pid=$(pid_of "$1" "$2"); then
    log "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "$1 did not stop after 10s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$RUN/$1.pid"
}

# spawn NAME CMD...: run CMD in the background in its own session, detached from this shell, with run/NAME.pid and
# log/NAME.log. The pid is written by the process itself (before exec), so it is right even if setsid forks.
spawn() {
  local name=$1
  shift
  : >"$LOGS/$name.log"
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$RUN/$name.pid" "$@" </dev/null >>"$LOGS/$name.log" 2>&1 9>&- &
}

# listening PORT: a socket listens on TCP PORT (any local address). Reads /proc/net/tcp{,6} instead of connecting, so
# that probing leaves no "connection reset" noise in the servers' logs.
listening() {
  local hex
  hex=$(printf '%04X' "$1")
  grep -qsE "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:0000 0A " /proc/net/tcp /proc/net/tcp6
}

# wait_for NAME SECONDS CHECK...: poll CHECK until it succeeds; on timeout print the log tail and fail.
wait_for() {
  local name=$1 seconds=$2 deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      if [ -s "$LOGS/$name.log" ]; then
        printf 'testenv: last lines of %s:\n' "$LOGS/$name.log" >&2
        tail -n 20 "$LOGS/$name.log" >&2
      fi
      die "$name did not answer within ${seconds}s (log: $LOGS/$name.log)"
    fi
    sleep 0.2
  done
}
