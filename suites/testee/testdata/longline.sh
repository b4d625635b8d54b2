#!/bin/sh
# A testee that prints a 3 MiB line (a report, but too long), then a report.
printf '{"ev":"huge","data":"'
head -c 3145728 /dev/zero | tr '\0' x
printf '"}\n'
echo '{"ev":"after-long-line"}'
