"""Regenerate the console transcripts and the example files in the docs (and check them).

The docs are README.md and every page of docs/ (``docs/*.md``). Every
transcript in them comes from running the real console (or one of the example
programs in ``examples/`` that drive it), so the docs cannot drift from what it
prints. A transcript sits in a Markdown file between two markers::

    <!-- transcript: NAME -->
    ```text
    $ the command
    what the console printed
    ```
    <!-- /transcript -->

and an example program is shown whole between ``<!-- file: PATH -->`` and
``<!-- /file -->``.

A run of more than three identical lines (the answers of ``.repeat 10000
ping``) is shown as its first line and ``… 9,999 more lines the same …``.

``python scripts/transcripts.py`` rewrites every block; ``--check`` only
compares, treating any run of digits as equal (pids change on every run), and
exits 1 if a block differs. The test suite runs the check. A transcript whose
program is not installed here (Tcl ``expect``, say) is left as it is.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Every page of the docs: the README first, then docs/ in order of name.
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Transcript:
    """A console run shown in the docs: the command as a reader would type it."""

    shown: str  # the command line as printed in the docs
    args: tuple[str, ...]  # the arguments given to doer
    stdin: str  # what is piped in
    #: The venv whose Python runs it (a newer Python: .venv-3.13, .venv-ft); None: this one.
    venv: str | None = None


@dataclass(frozen=True)
class ExampleRun:
    """An example program run as a reader would run it, with ``doer`` on the PATH."""

    shown: str  # the command line as printed in the docs
    argv: tuple[str, ...]  # the program and its arguments, from the project's root


@dataclass(frozen=True)
class Lesson:
    """One lesson of a ``.doer`` script whose lines are run once, as a whole, in plain
    mode: its part of the transcript, from its first line's echo to the next lesson's."""

    script: str  # the script's path, from the project's root
    name: str  # the lesson, as a "# lesson: NAME" line of the script names it


RECIPE = "ping\nfoo\nset-state hola!\nexit\n"

TRANSCRIPTS: dict[str, Transcript] = {
    "recipe-process": Transcript(
        "printf 'ping\\nfoo\\nset-state hola!\\nexit\\n' | doer --kind process --state 42",
        ("--kind", "process", "--state", "42"),
        RECIPE,
    ),
    "recipe-thread": Transcript(
        "printf 'ping\\nfoo\\nset-state hola!\\nexit\\n' | doer --kind thread --state 42",
        ("--kind", "thread", "--state", "42"),
        RECIPE,
    ),
    "recipe-asyncio": Transcript(
        "printf 'ping\\nsleep 0.1\\nwhoami\\nexit\\n' | doer --kind asyncio --state 42",
        ("--kind", "asyncio", "--state", "42"),
        "ping\nsleep 0.1\nwhoami\nexit\n",
    ),
    "whoami": Transcript(
        "printf 'whoami\\n.restart thread\\nwhoami\\n' | doer --kind process --start-method spawn",
        ("--kind", "process", "--start-method", "spawn"),
        "whoami\n.restart thread\nwhoami\n",
    ),
    # sleep 1.5 against --timeout 1: the sleep is late by 0.5 s, and the ping that
    # follows (answered when the sleep ends) is on time by 0.5 s; a busy machine
    # cannot flip either.
    "errors": Transcript(
        "printf 'set-state \"oops\\nsleep -1\\nset-state a b\\nsleep 1.5\\nping\\n'"
        " | doer --timeout 1",
        ("--timeout", "1"),
        'set-state "oops\nsleep -1\nset-state a b\nsleep 1.5\nping\n',
    ),
    "many-workers": Transcript(
        "printf '.spawn p process\\n.spawn a asyncio\\n@all whoami\\n@p,a set-state hola!\\n"
        ".workers\\n.use p\\nget-state\\n.stop a\\n@all ping\\n' | doer",
        (),
        ".spawn p process\n.spawn a asyncio\n@all whoami\n@p,a set-state hola!\n"
        ".workers\n.use p\nget-state\n.stop a\n@all ping\n",
    ),
    "recipe-ray": Transcript(
        "printf 'ping\\nset-state hola!\\n.spawn p process\\n@all whoami\\n'"
        " | doer --kind ray --state 42",
        ("--kind", "ray", "--state", "42"),
        "ping\nset-state hola!\n.spawn p process\n@all whoami\n",
    ),
    # A supervisor: a process worker restarted twice after a segfault, then given up on.
    "restarts": Transcript(
        "printf 'incr\\nsegfault\\nincr\\nsegfault\\nsegfault\\n.status\\n'"
        " | doer --kind process --restart on-failure --max-restarts 2",
        ("--kind", "process", "--restart", "on-failure", "--max-restarts", "2"),
        "incr\nsegfault\nincr\nsegfault\nsegfault\n.status\n",
    ),
    # Python 3.13's subinterpreters (.venv-3.13, which make test makes).
    "interpreter-recipe": Transcript(
        "printf 'ping\\nwhoami\\nincr\\nset-state hola!\\n.peek\\nexit\\n'"
        " | .venv-3.13/bin/doer --kind interpreter --state 42",
        ("--kind", "interpreter", "--state", "42"),
        "ping\nwhoami\nincr\nset-state hola!\n.peek\nexit\n",
        ".venv-3.13",
    ),
    "interpreter-lessons": Transcript(
        "printf '.spawn i2 interpreter\\n@i1,i2 whoami\\n@i1,i2 incr\\n@i1,i2 work\\n"
        ".timeline\\n@i1,i2 race\\nsegfault\\n.kill\\ndie\\n'"
        " | .venv-3.13/bin/doer --kind interpreter --name i1",
        ("--kind", "interpreter", "--name", "i1"),
        ".spawn i2 interpreter\n@i1,i2 whoami\n@i1,i2 incr\n@i1,i2 work\n.timeline\n"
        "@i1,i2 race\nsegfault\n.kill\ndie\n",
        ".venv-3.13",
    ),
    # A free-threaded Python (.venv-ft, which make free-threaded makes).
    "gil-off": Transcript(
        "printf '.spawn t2 thread\\n@t1,t2 whoami\\n@t1,t2 work\\n.timeline\\n"
        "@t1,t2 race 1000000 natural\\n' | .venv-ft/bin/doer --name t1",
        ("--name", "t1"),
        ".spawn t2 thread\n@t1,t2 whoami\n@t1,t2 work\n.timeline\n@t1,t2 race 1000000 natural\n",
        ".venv-ft",
    ),
    # Two tasks deadlocked on their event loop's locks, with a timeout of 2 s; .timeout
    # 0.5 stops waiting for their answers, so that .locks and a third task's ping come
    # while the two still wait; .timeout 10, so that the pings after them are not late.
    "deadlock-tasks": Transcript(
        "printf '.spawn a2,a3 asyncio\\n.timeout 0.5\\n@a,a2 deadlock 2\\n.locks\\n@a3 ping\\n"
        ".timeout 10\\n@a,a2 ping\\n' | doer --kind asyncio --name a",
        ("--kind", "asyncio", "--name", "a"),
        ".spawn a2,a3 asyncio\n.timeout 0.5\n@a,a2 deadlock 2\n.locks\n@a3 ping\n"
        ".timeout 10\n@a,a2 ping\n",
    ),
    "handlers": Transcript(
        "printf 'add\\nadd 41\\nwhose\\n.restart thread\\nwhose\\n' | doer --state 0"
        " --kind process --start-method spawn --handlers examples/handlers/counter.py",
        (
            "--state",
            "0",
            "--kind",
            "process",
            "--start-method",
            "spawn",
            "--handlers",
            "examples/handlers/counter.py",
        ),
        "add\nadd 41\nwhose\n.restart thread\nwhose\n",
    ),
    **{
        f"classroom-{name}": Lesson("docs/classroom.doer", name)
        for name in (
            "setup",
            "pids",
            "memory",
            "globals",
            "race",
            "deadlock",
            "gil",
            "event-loop",
            "start-methods",
            "inheritance",
            "pickling",
            "crashes",
            "killing",
        )
    },
    "one-shot": Transcript(
        "doer -c ping -c 'set-state 5' -c get-state",
        ("-c", "ping", "-c", "set-state 5", "-c", "get-state"),
        "",
    ),
    "one-shot-jsonl": Transcript(
        "doer --jsonl -c ping -c whoami", ("--jsonl", "-c", "ping", "-c", "whoami"), ""
    ),
    "strict": Transcript("doer --strict -c pnig", ("--strict", "-c", "pnig"), ""),
    # sleep 0.6 against --timeout 0.3, then a timeout long enough for the ping
    # that waits behind the sleep: which answer is late cannot flip.
    "line-mode-late": Transcript(
        "printf 'sleep 0.6\\n.timeout 10\\nping\\n' | doer --line-mode --timeout 0.3"
        " --prompt 'doer> '",
        ("--line-mode", "--timeout", "0.3", "--prompt", "doer> "),
        "sleep 0.6\n.timeout 10\nping\n",
    ),
    "example-backpressure": ExampleRun(
        "python examples/backpressure.py", ("python", "examples/backpressure.py")
    ),
    "example-jsonl": ExampleRun(
        "python examples/jsonl_run.py", ("python", "examples/jsonl_run.py")
    ),
    "example-pexpect": ExampleRun(
        "python examples/pexpect_spawn.py", ("python", "examples/pexpect_spawn.py")
    ),
    "example-replwrap": ExampleRun(
        "python examples/replwrap_prompt.py", ("python", "examples/replwrap_prompt.py")
    ),
    "example-replwrap-fixed": ExampleRun(
        "python examples/replwrap_fixed.py", ("python", "examples/replwrap_fixed.py")
    ),
    "example-popen": ExampleRun(
        "python examples/popen_spawn.py", ("python", "examples/popen_spawn.py")
    ),
    "example-expect": ExampleRun("expect examples/doer.exp", ("expect", "examples/doer.exp")),
    "example-script": ExampleRun("sh examples/script_dumb.sh", ("sh", "examples/script_dumb.sh")),
}

FILE_BLOCK = re.compile(
    r"(<!-- file: (?P<path>[\w./-]+) -->\n)```(?P<lang>\w*)\n.*?```\n(<!-- /file -->)",
    re.DOTALL,
)

BLOCK = re.compile(
    r"(<!-- transcript: (?P<name>[\w-]+) -->\n)```text\n.*?```\n(<!-- /transcript -->)",
    re.DOTALL,
)


class NotInstalled(Exception):
    """The program a transcript runs is not installed here."""


def run(transcript: Transcript | ExampleRun | Lesson) -> str:
    """Run the console as the transcript says; return the block's text.

    Raises:
        NotInstalled: the transcript's program is not on this machine.
    """
    if isinstance(transcript, Lesson):
        return lesson_text(transcript)
    # A reader's environment: no cluster named (a Ray worker starts its own).
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "DOER_RAY_ADDRESS")}
    if isinstance(transcript, ExampleRun):
        bin_dir = str(Path(sys.executable).parent)  # doer and this python
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        program = shutil.which(transcript.argv[0], path=env["PATH"])
        if program is None:
            raise NotInstalled(transcript.argv[0])
        argv, stdin = [program, *transcript.argv[1:]], ""
    else:
        python = sys.executable
        if transcript.venv is not None:
            python = str(ROOT / transcript.venv / "bin" / "python")
            if not os.path.exists(python):
                raise NotInstalled(transcript.venv)
        argv, stdin = [python, "-m", "doer", *transcript.args], transcript.stdin
    result = subprocess.run(
        argv,
        input=stdin.encode(),
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    output = "".join(
        line + "\n" for line in fold_runs(result.stdout.decode().replace("\r\n", "\n").splitlines())
    )
    status = f"(exit status {result.returncode})\n" if result.returncode else ""
    return f"$ {transcript.shown}\n{output}{status}"


def lessons_of(script: str) -> dict[str, list[str]]:
    """The lines of each lesson of ``script``, in order."""
    lessons: dict[str, list[str]] = {}
    current: list[str] = []
    for line in (ROOT / script).read_text().splitlines():
        if line.startswith("# lesson: "):
            current = lessons.setdefault(line.removeprefix("# lesson: ").strip(), [])
        elif line.strip() and not line.startswith("#"):
            current.append(line)
    return lessons


@functools.cache
def script_output(script: str) -> list[str]:
    """What ``doer --script SCRIPT`` prints (run once per regeneration), by line."""
    result = subprocess.run(
        [sys.executable, "-m", "doer", "--script", script],
        capture_output=True,
        env={k: v for k, v in os.environ.items() if k != "NO_COLOR"},
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    status = [f"(exit status {result.returncode})"] if result.returncode else []
    return fold_runs(result.stdout.decode().splitlines()) + status


#: The longest run of identical lines a transcript shows whole.
LONGEST_RUN = 3


def fold_runs(lines: list[str]) -> list[str]:
    """``lines`` with each run of more than :data:`LONGEST_RUN` identical lines shown as
    its first line and a count of the rest."""
    folded: list[str] = []
    run = 0
    for number, line in enumerate(lines):
        run = run + 1 if number and line == lines[number - 1] else 1
        ends = number + 1 == len(lines) or lines[number + 1] != line
        if not ends:
            continue
        if run > LONGEST_RUN:
            folded += [line, f"… {run - 1:,} more lines the same …"]
        else:
            folded += [line] * run
    return folded


def lesson_text(lesson: Lesson) -> str:
    """The part of the script's transcript that the lesson's lines printed.

    It starts at the echo of the lesson's first line (the first lesson: at the
    top) and ends where the next lesson's first line is echoed.
    """
    starts = [f"> {lines[0]}" for lines in lessons_of(lesson.script).values()]
    names = list(lessons_of(lesson.script))
    output = script_output(lesson.script)
    begin = 0 if names.index(lesson.name) == 0 else output.index(starts[names.index(lesson.name)])
    later = starts[names.index(lesson.name) + 1 :]
    end = next((output.index(start) for start in later if start in output), len(output))
    command = [f"$ doer --script {lesson.script}"] if begin == 0 else []
    return "".join(line + "\n" for line in command + output[begin:end])


def render(text: str, only: str | None = None) -> str:
    """``text`` with every transcript block replaced by a fresh run (or only the one
    called ``only``), every file block by the file."""

    def replace(match: re.Match[str]) -> str:
        if only is not None and match["name"] != only:
            return match[0]
        if match["name"] not in TRANSCRIPTS:
            raise KeyError(f"no transcript called {match['name']}: add it to TRANSCRIPTS")
        try:
            body = run(TRANSCRIPTS[match["name"]])
        except NotInstalled:
            return match[0]
        return f"{match[1]}```text\n{body}```\n{match[3]}"

    def replace_file(match: re.Match[str]) -> str:
        body = (ROOT / match["path"]).read_text()
        return f"{match[1]}```{match['lang']}\n{body}```\n{match[4]}"

    return FILE_BLOCK.sub(replace_file, BLOCK.sub(replace, text))


def normalise(text: str) -> str:
    """What may vary from run to run, taken out before comparing.

    - numbers (pids, thread ids, times, counts), their units, and the spaces
      that align them in a table; a Ray actor's node, host and address;
    - what timing decides: the length of a timeline's bars and its axis, and
      whether ``work`` waited, and on what (on a busy machine even a process
      does, and a note may say the CPUs were too few), and how much of each
      bar it ran; whether racing threads with the GIL off crossed (on a busy
      machine one may run while the other waits for a CPU, and none is lost);
      what a whoami answer leaves out to fit 80 columns, which depends on how
      long the pids are;
    - the order of a line's answers when it went to several workers (``@all``):
      they print as they arrive, so within a transcript the lines between two
      echoed input lines are compared sorted (a ``.workers`` table: as the set
      of its words, since where it splits depends on how wide its numbers are).
    """
    # Where a Ray actor runs: its node's id, the host's name and address.
    text = re.sub(r"node [0-9a-f]{8} on ", "node ID on ", text)
    text = re.sub(r" on \S+ \(\S+\)$", " on HOST (IP)", text, flags=re.MULTILINE)
    text = re.sub(r"\d+(,\d{3})*(\.\d+)?", "N", text)  # 973,835 and 1,023,456 alike
    # How long work took, and so the bars of a timeline, its axis and why a
    # handler waited, are the machine's of the moment: only the shape is compared.
    # (What it waited for goes too; that the GIL was off stays.)
    text = re.sub(r"(?m)(s CPU)(?:: .*?| for N[N,]* steps)( \(GIL off\))?$", r"\1\2", text)
    text = re.sub(r"(?m)^note: N processes to work on N CPUs?: [^\n]*\n", "", text)
    text = re.sub(r"\bN (ms|s|µs)\b", "N T", text)
    text = re.sub(r"(?m)^ *N T( +N T)*$", "AXIS", text)
    text = re.sub(r"[█▓▒░·▏▎▍▌▋▊▉]+", "█", text)  # how much each bar ran, too
    text = re.sub(r"(?m)GIL off, (?:they ran at once|yet none crossed)$", "GIL off, CROSSED?", text)
    # whoami names a thread by name, or as "thread" where a longer pid leaves no room.
    text = re.sub(r"(?m)^(\[.*\] pid N, )(.*?)((?:its own )?GIL\b.*)$", _whoami_unshortened, text)
    text = re.sub(r" +", " ", text)
    return BLOCK.sub(lambda match: _answers_unordered(match[0]), text)


def _whoami_unshortened(match: re.Match[str]) -> str:
    """A ``whoami`` answer without what its shorter forms leave out (the parent, the
    thread's name and id, the start method): which form fits 80 columns depends on
    how many digits the pids have, and so on the run."""
    middle = re.sub(r"ppid N( \(the forkserver\))?, ", "", match[2])
    middle = re.sub(r"(?:^|(?<=, ))[\w-]+ N, ", "", middle)  # the thread, by name or not
    middle = re.sub(r"by \w+, ", "", middle)
    return f"{match[1]}{middle}{match[3]}"


def _answers_unordered(block: str) -> str:
    groups: list[list[str]] = [[]]
    for line in block.split("\n"):
        if line.startswith("> "):
            groups.append([line])
        else:
            groups[-1].append(line)
    return "\n".join("\n".join(_unordered(group)) for group in groups)


def _unordered(group: list[str]) -> list[str]:
    """A line's echo, then its answers in sorted order; a table, as the set of its words
    (where it splits to fit 80 columns depends on how wide its numbers are)."""
    if group[0] == "> .workers":
        return group[:1] + sorted({word for line in group[1:] for word in line.split()})
    return group[:1] + sorted(group[1:])


def names_in(path: Path) -> list[str]:
    """The transcripts a document shows, by name, in order."""
    return [match["name"] for match in BLOCK.finditer(path.read_text())]


def show_drift(path: Path, old: str, new: str) -> None:
    """Print how the normalised transcripts differ, so a drift can be told from noise."""
    import difflib

    diff = difflib.unified_diff(old.splitlines(), new.splitlines(), "docs", "console", n=1)
    print(f"--- {path.relative_to(ROOT)} (normalised) ---")
    print("\n".join(list(diff)[:60]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    parser.add_argument("--only", metavar="NAME", help="only the transcript called NAME")
    parser.add_argument("documents", nargs="*", type=Path, help="only these (default: all)")
    args = parser.parse_args(argv)
    drifted = []
    for path in [ROOT / path for path in args.documents] or DOCUMENTS:
        old = path.read_text()
        new = render(old, args.only)
        if args.check:
            if normalise(new) != normalise(old):
                drifted.append(path)
                show_drift(path, normalise(old), normalise(new))
        elif new != old:
            path.write_text(new)
            print(f"rewrote {path.relative_to(ROOT)}")
    for path in drifted:
        print(f"{path.relative_to(ROOT)}: transcripts differ from the console; run make docs")
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main())
