#!/bin/sh
# A testee that prints 10 MiB (174763 lines of 60 bytes) on stdout
# ($1 = out) or stderr ($1 = err), then one report, and exits 0.
if [ "$1" = err ]; then
	yes 'flood flood flood flood flood flood flood flood flood flood' | head -n 174763 >&2
else
	yes 'flood flood flood flood flood flood flood flood flood flood' | head -n 174763
fi
echo '{"ev":"after-flood"}'
echo 'flood.sh: the end' >&2
