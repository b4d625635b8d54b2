#!/bin/sh
# A testee that never connects, ignores stdin's end and SIGTERM.
. "$(dirname "$0")/lib.sh"
trap '' TERM
echo '{"ev":"ready","library":"hang"}'
while :; do sleep 1; done
