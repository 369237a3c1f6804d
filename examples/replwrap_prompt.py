"""doer under pexpect's REPLWrapper, which sets its own prompt with .prompt.

REPLWrapper spawns with the terminal's echo off, so doer runs in line mode:
every command's output is exactly the lines before the next prompt.
"""

from pexpect.replwrap import REPLWrapper

doer = REPLWrapper("doer --kind process", r"doer \w+ \w+ \d+> ", ".prompt {0}")
for line in ["ping", "set-state 5", "get-state", "whoami"]:
    print(f"{line} -> {doer.run_command(line).strip()}")
doer.child.sendline(".quit")
doer.child.expect("on end")
