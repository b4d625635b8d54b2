#!/bin/sh
# A testee that hangs: it ignores stdin and SIGTERM (the ignored
# disposition is inherited by sleep), so only SIGKILL ends it.
trap '' TERM
echo '{"ev":"ready","library":"hang 0"}'
while :; do sleep 1000; done
