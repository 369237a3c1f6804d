"""doer over pipes with pexpect's PopenSpawn: plain mode, no terminal at all.

Plain mode echoes each line as "> line", then prints its answers, and reads the
next line only once they are printed.
"""

from pexpect.popen_spawn import PopenSpawn

child = PopenSpawn("doer --kind process", encoding="utf-8")
for line in ["ping", "set-state 5", "get-state", "whoami"]:
    child.sendline(line)
    child.expect_exact(f"> {line}\n")  # the echo: what follows is this line's answer
    child.expect(r"\[w1 process \d+\] ([^\r\n]*)\n")
    print(f"{line} -> {child.match.group(1)}")
child.sendline(".quit")
child.expect("on end")
child.wait()
