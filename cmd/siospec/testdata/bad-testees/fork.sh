#!/bin/sh
# A testee that forks a long-lived child (its command line carries
# SIOSPEC_TEST_MARKER) and exits: the harness must kill the whole process
# group.
. "$(dirname "$0")/lib.sh"
sh -c 'while :; do sleep 1; done' "siospec-marker-$SIOSPEC_TEST_MARKER" &
exit 0
