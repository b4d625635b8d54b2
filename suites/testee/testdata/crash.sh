#!/bin/sh
# A testee that crashes: one report, a message on stderr, exit 1.
echo '{"ev":"ready","library":"crash 0"}'
echo 'crash.sh: something went badly wrong' >&2
exit 1
