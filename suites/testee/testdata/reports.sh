#!/bin/sh
# Report lines mixed with lines that are not reports, and a last line
# without an end of line: $1 = json (a complete report) or broken.
echo '{"ev":"ready","library":"reports 0"}'
echo 'plain text, not a report'
echo '{"no_ev":true}'
echo '{"ev":42}'
echo '["ev","array"]'
echo '{"ev":"broken"'
printf '{"ev":"crlf","n":1}\r\n'
echo '  {"ev":"spaced","nested":{"a":[1,2]},"s":"x\u00e9"}'
echo '{"ev":"message","data":"hello"}'
if [ "$1" = broken ]; then
	printf '{"ev":"partial'
else
	printf '{"ev":"last"}'
fi
