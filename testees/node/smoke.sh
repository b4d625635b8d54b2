#!/bin/sh
# smoke.sh — start each fixture on a free port, do one Engine.IO polling
# handshake with curl, print the body, and stop the fixture by its PID.
# Exit status: 0 when every handshake answered 200 and every fixture exited 0.
set -u
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# smoke NAME QUERY_PATH [fixture flags...]
smoke() {
  name=$1; query=$2; shift 2
  out="$tmp/$name.out"
  node "fixtures/$name.js" --port 0 "$@" >"$out" 2>"$tmp/$name.err" &
  pid=$!
  i=0
  while ! grep -q '^listening ' "$out" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
      echo "$name: no readiness line after $((i / 10)) s"; cat "$tmp/$name.err"
      kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
      failures=$((failures + 1)); return
    fi
    sleep 0.1
  done
  base=$(sed -n 's/^listening //p' "$out")
  echo "== $name $* ($base)"
  code=$(curl -sS --max-time 5 -o "$tmp/$name.body" -w '%{http_code} %{content_type}' "$base$query")
  echo "GET $query -> $code"
  cat -v "$tmp/$name.body"; echo
  case "$code" in 200*) ;; *) failures=$((failures + 1)) ;; esac
  kill "$pid"
  wait "$pid"; rc=$?
  echo "stopped pid $pid, exit $rc"
  [ "$rc" -eq 0 ] || failures=$((failures + 1))
}

smoke eio4 '/engine.io/?EIO=4&transport=polling'
smoke eio3 '/engine.io/?EIO=3&transport=polling'
smoke eio3 '/engine.io/?EIO=3&transport=polling&b64=1' --engine 3
smoke sio5 '/socket.io/?EIO=4&transport=polling'
smoke sio4 '/socket.io/?EIO=3&transport=polling'

if [ "$failures" -ne 0 ]; then echo "smoke: $failures failure(s)"; exit 1; fi
echo "smoke: ok"
