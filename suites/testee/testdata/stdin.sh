#!/bin/sh
# A testee that follows the contract's end: exit 0 on stdin end of file.
echo '{"ev":"ready","library":"stdin 0"}'
cat >/dev/null
echo '{"ev":"stdin-eof"}'
exit 0
