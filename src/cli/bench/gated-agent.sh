#!/bin/sh
# A gated agent, for failover measurements and tests: it notes where it started (its working
# directory names the node), waits until the gate file `open` exists, then runs the real agent
# (the rest of its arguments). It gives up when the process that started it is gone or the gate
# folder was removed, so a killed node leaves nothing behind.
gates="$1"; shift
parent="$PPID"
echo "$PWD" > "$gates/started.$$"
while [ ! -e "$gates/open" ]; do
  [ -d "$gates" ] && kill -0 "$parent" 2>/dev/null || exit 1
  sleep 0.01
done
exec "$@"
