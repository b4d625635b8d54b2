#!/usr/bin/env bash
# Runs siospec's server suites against a server under test, as a CI job
# does: start the server, wait until it answers, run the suites, keep the
# reports, publish the summary, and gate on "no new failures".
#
# Environment (the GitHub Actions and GitLab CI examples beside this file
# set these):
#   SIOSPEC          the siospec binary (default: siospec on PATH)
#   SERVER_CMD       the command that starts the server under test (run with
#                    bash -c in the background; stopped when the script ends)
#   SERVER_URL       its base URL, e.g. http://127.0.0.1:3000
#   SUITES           the suites to run (default sio5)
#   EXPECT_FAILURES  optional: the known-failures file (lines "<suite> <ID> <reason>")
#   REPORT_DIR       where the reports go (default siospec-report)
#   READY_TIMEOUT    seconds to wait for the server to listen (default 30)
#   SIOSPEC_ARGS     optional extra flags for siospec server, split on spaces
#                    (e.g. "--label-filter !slow --connect-timeout 5s")
#   GITHUB_STEP_SUMMARY  set by GitHub Actions: summary.md is appended to it
#
# Exit code: siospec's (0 no MUST failed beyond the known failures, 1
# conformance failures, 2 harness error, 3 preflight failed, 4 usage
# error), or 3 when the server never came up.
set -u

siospec=${SIOSPEC:-siospec}
suites=${SUITES:-sio5}
report_dir=${REPORT_DIR:-siospec-report}
ready_timeout=${READY_TIMEOUT:-30}

if [ -z "${SERVER_CMD:-}" ] || [ -z "${SERVER_URL:-}" ]; then
  echo "conformance.sh: set SERVER_CMD and SERVER_URL" >&2
  exit 4
fi

# Start the server under test in its own process group, and stop that
# group (and only it) when the script ends.
mkdir -p "$report_dir"
setsid bash -c "$SERVER_CMD" >"$report_dir/server.log" 2>&1 &
server_pid=$!
stop_server() {
  kill -TERM -- "-$server_pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$server_pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$server_pid" 2>/dev/null || true
}
trap stop_server EXIT

# Wait until the server accepts TCP connections (bounded).
hostport=${SERVER_URL#*://}
hostport=${hostport%%/*}
host=${hostport%:*}
port=${hostport##*:}
deadline=$((SECONDS + ready_timeout))
until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "conformance.sh: the server exited before it listened on $hostport; its output:" >&2
    cat "$report_dir/server.log" >&2
    exit 3
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "conformance.sh: nothing listens on $hostport after ${ready_timeout}s; server output:" >&2
    cat "$report_dir/server.log" >&2
    exit 3
  fi
  sleep 0.2
done

"$siospec" version
args=(server --url "$SERVER_URL" --suite "$suites" --report-dir "$report_dir")
if [ -n "${EXPECT_FAILURES:-}" ]; then
  args+=(--expect-failures "$EXPECT_FAILURES")
fi
if [ -n "${SIOSPEC_ARGS:-}" ]; then
  read -r -a extra <<<"$SIOSPEC_ARGS"
  args+=("${extra[@]}")
fi
"$siospec" "${args[@]}"
code=$?

if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$report_dir/summary.md" ]; then
  cat "$report_dir/summary.md" >>"$GITHUB_STEP_SUMMARY"
fi
exit "$code"
