#!/bin/sh
# A testee that ignores stdin but exits 3 on SIGTERM.
trap 'exit 3' TERM
echo '{"ev":"ready","library":"term 0"}'
sleep 1000 &
wait
