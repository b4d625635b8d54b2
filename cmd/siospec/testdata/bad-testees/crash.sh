#!/bin/sh
# A testee that crashes at once: prints a report and dies with exit 1.
. "$(dirname "$0")/lib.sh"
echo '{"ev":"ready","library":"crash"}'
echo 'boom: segmentation fault (simulated)' >&2
exit 1
