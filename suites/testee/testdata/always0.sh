#!/bin/sh
# A testee that claims every case: it always exits 0 (a contract violation).
echo '{"ev":"ready","library":"always0 0"}'
exit 0
