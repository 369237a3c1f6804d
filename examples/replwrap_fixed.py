"""REPLWrapper with a prompt fixed from the start: nothing to change."""

from pexpect.replwrap import REPLWrapper

doer = REPLWrapper("doer --wait --prompt 'X> '", "X> ", None)
print(f"ping -> {doer.run_command('ping').strip()}")
doer.child.sendline(".quit")
doer.child.expect("on end")
