#!/bin/sh
# Reports the contract's environment.
printf '{"ev":"env","url":"%s","suite":"%s","case":"%s","transports":"%s","seed":"%s","extra":"%s","options":%s}\n' \
	"$SIOSPEC_URL" "$SIOSPEC_SUITE" "$SIOSPEC_CASE" "$SIOSPEC_TRANSPORTS" "$SIOSPEC_SEED" "$EXTRA" "$SIOSPEC_OPTIONS"
pwd >&2
