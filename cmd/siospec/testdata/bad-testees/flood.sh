#!/bin/sh
# A testee that prints 10 MB on stdout and on stderr, then waits.
. "$(dirname "$0")/lib.sh"
head -c 10485760 /dev/zero | tr '\0' 'x'
head -c 10485760 /dev/zero | tr '\0' 'y' >&2
exec cat >/dev/null
