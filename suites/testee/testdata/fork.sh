#!/bin/sh
# A testee that forks a child into the background and exits 0 at once.
# With $1 = quiet the child does not hold stdout and stderr.
if [ "$1" = quiet ]; then
	sleep 1000 >/dev/null 2>&1 &
else
	sleep 1000 &
fi
echo "{\"ev\":\"child\",\"pid\":$!}"
exit 0
