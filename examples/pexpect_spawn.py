"""doer under pexpect.spawn at its defaults: the interactive shell, in a pty of 24x80.

A fixed prompt and --wait make it a classic REPL: after each line, its answer,
then the prompt. --no-color keeps colour codes out of the answers (the shell
still moves the cursor: match the answer's text, not whole lines of output);
--no-history keeps these lines out of the user's history of the shell.
"""

import pexpect

child = pexpect.spawn("doer --wait --prompt 'doer> ' --no-color --no-history", encoding="utf-8")
child.expect_exact("doer> ")
for line in ["ping", "set-state 5", "get-state", "whoami"]:
    child.sendline(line)
    child.expect(r"\[w1 thread \d+\] ([^\r\n]*)")
    print(f"{line} -> {child.match.group(1)}")
    child.expect_exact("doer> ")
child.sendline(".quit")
child.expect(pexpect.EOF)
