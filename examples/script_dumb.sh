#!/bin/sh
# doer under script(1), fed from a pipe. TERM=dumb gives line mode: plain lines,
# no escape sequences, each answer before the next prompt.
printf 'ping\nset-state 5\nget-state\nwhoami\n.quit\n' | TERM=dumb script -qec doer /dev/null
