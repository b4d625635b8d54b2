#!/bin/sh
# A testee that honours the contract's 127 for cases it does not know.
case "$SIOSPEC_CASE" in
known)
	echo '{"ev":"ready","library":"contract 0"}'
	exit 0
	;;
*)
	# Mentions "not found" on purpose: the probe must not take the
	# testee's own message for the shell's.
	echo "contract.sh: case $SIOSPEC_CASE: not found" >&2
	exit 127
	;;
esac
