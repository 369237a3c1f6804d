"""The command line: ``doer [--kind K] [--start-method M] [--state V] [--script FILE] ...``.

``main(argv)`` picks the front end: the interactive shell when both stdin and
stdout are terminals, line mode on a terminal that is dumb or has its echo off
(a program is typing), plain mode otherwise (or with ``--script``). With ``-i
--script FILE`` the file's lines run first, as if typed, in whichever front end
would run. prompt-toolkit is imported only for the shell, so plain mode and
spawned workers start fast.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import BinaryIO, NoReturn

from doer import __version__
from doer.base.errors import HandlerError
from doer.base.protocol import Record
from doer.client.supervision import MAX_RESTARTS, WHEN, WITHIN_S, RestartPolicy
from doer.client.worker import Worker, check_mailbox
from doer.console.render import creating_line, plain, record_line
from doer.console.session import Console, Mailbox, Settings
from doer.console.syntax import check_name, state_value
from doer.kinds import KINDS, START_METHODS, link_class

EXIT_USAGE = 2


class Terminated(SystemExit):
    """Raised in the main thread by SIGTERM or SIGHUP, so every ``finally`` runs."""


def create_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="doer",
        description="Talk to a long-lived worker (a thread, a process, an asyncio task or a Ray "
        "actor) over a request queue and a response queue.",
        epilog="Type .help at the prompt for the messages and commands.",
    )
    parser.add_argument("--kind", choices=KINDS, default="thread", help="how the worker runs")
    parser.add_argument(
        "--start-method",
        choices=START_METHODS,
        help="how a process worker is started (default: the platform's)",
    )
    parser.add_argument(
        "--state", default=None, help="the worker's initial state (a Python literal or a word)"
    )
    parser.add_argument(
        "--restart",
        choices=WHEN,
        default="never",
        help="restart the worker when it dies (on-failure), or whenever it ends (always);"
        " default never",
    )
    parser.add_argument(
        "--max-restarts",
        type=_whole_number,
        default=MAX_RESTARTS,
        metavar="N",
        help=f"with --restart: give up after N restarts within --within seconds"
        f" (default {MAX_RESTARTS})",
    )
    parser.add_argument(
        "--within",
        type=_positive_seconds,
        default=WITHIN_S,
        metavar="S",
        help=f"with --restart: the budget's window, in seconds (default {WITHIN_S:g})",
    )
    parser.add_argument(
        "--mailbox",
        type=_mailbox,
        metavar="N",
        help="at most N requests pending on the worker: a line that does not fit waits"
        " (plain mode) or is refused (the shell)",
    )
    parser.add_argument("--script", metavar="FILE", help="run the lines of FILE in plain mode")
    parser.add_argument(
        "-i",
        dest="interactive",
        action="store_true",
        help="with --script: run FILE's lines as if typed, then stay at the prompt with the"
        " workers they started (as python -i does)",
    )
    parser.add_argument(
        "-c",
        dest="commands",
        action="append",
        metavar="LINE",
        help="run LINE (repeatable, in order) on a fresh console, print only the answers,"
        " stop the workers and exit",
    )
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help="print each record as one JSON object per line (for programs; no prompt)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="an 'unknown message' answer or an unknown command fails the exit status",
    )
    parser.add_argument(
        "--line-mode",
        action="store_true",
        help="line mode on any terminal: plain lines, the prompt after each line's answers",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=10.0,
        metavar="S",
        help="seconds to wait for an answer before reporting it late (default 10)",
    )
    parser.add_argument(
        "--name",
        type=_worker_name,
        default="w1",
        help="the worker's name, in every line it prints and in the prompt (default w1)",
    )
    parser.add_argument(
        "--prompt", metavar="TEXT", help="a fixed prompt instead of 'doer NAME KIND PID> '"
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="the prompt comes back once a line's answers are printed (for programs)",
    )
    parser.add_argument(
        "--handlers",
        action="append",
        default=[],
        metavar="FILE|MODULE",
        help="your @doer.handler functions, from a file or a dotted module (repeatable)",
    )
    parser.add_argument(
        "--address",
        metavar="ADDR",
        help="for --kind ray: the Ray cluster to join (host:port, auto, ray://host:port);"
        " without it doer starts a private one on this machine",
    )
    parser.add_argument("--no-color", action="store_true", help="no colours (also: NO_COLOR=1)")
    parser.add_argument(
        "--no-history",
        action="store_true",
        help="keep the lines typed in memory only, not in the history file"
        " (also: DOER_NO_HISTORY=1; for programs that drive the shell)",
    )
    parser.add_argument("--version", action="version", version=f"doer {__version__}")
    return parser


def _worker_name(text: str) -> str:
    """A worker's name: a short word, as a class would call out (``p1``, ``fast-one``)."""
    try:
        return check_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _mailbox(text: str) -> int:
    value = _whole_number(text)
    try:
        check_mailbox(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def settings_from(args: argparse.Namespace) -> Settings:

    state = None if args.state is None else state_value(args.state)
    return Settings(
        kind=args.kind,
        state=state,
        start_method=args.start_method,
        timeout=args.timeout,
        prompt=args.prompt,
        wait=args.wait,
        name=args.name,
        handler_modules=_handler_modules(args.handlers),
        ray_address=args.address,
        history=not (args.no_history or os.environ.get("DOER_NO_HISTORY")),
        strict=args.strict,
        restart=RestartPolicy(args.restart, args.max_restarts, args.within),
        mailbox=args.mailbox,
    )


def _handler_modules(sources: list[str]) -> list[str]:
    """Where each ``--handlers`` source is: a file's absolute path, or a dotted module."""
    if not sources:
        return []  # none: their module is not loaded
    from doer.worker.handler_modules import where

    return [where(source) for source in sources]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the console; return its exit status."""
    parser = create_parser()
    args = parser.parse_args(argv)
    if args.start_method and not link_class(args.kind).start_methods:
        parser.error("--start-method applies to --kind process only")
    if args.commands is not None and args.script is not None:
        parser.error("-c and --script both give the lines to run: use one")
    if args.interactive:
        _check_interactive(parser, args)
    _check_available(parser, args)
    try:
        RestartPolicy.checked(args.restart, args.max_restarts, args.within)
    except ValueError as exc:
        parser.error(str(exc))
    from doer.frontends import gil_back_on

    gil_back_on.watch()  # before any handler module is imported
    settings = settings_from(args)
    # Text the terminal's encoding cannot hold (a reply in Chinese under a Latin-1
    # locale) is written as escapes rather than ending the console.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    _exit_cleanly_on(signal.SIGTERM, signal.SIGHUP)
    try:
        if args.commands is not None:
            return _run_commands(args.commands, settings, jsonl=args.jsonl)
        if args.interactive:
            return _run_script_then_prompt(args.script, settings, args)
        if args.script is not None:
            return _run_script_file(args.script, settings, jsonl=args.jsonl)
        if not sys.stdin.isatty() and not args.line_mode:
            return _run_plain(sys.stdin.buffer, settings, jsonl=args.jsonl)
        if not sys.stdout.isatty() and not (args.line_mode or args.jsonl):
            return _run_plain(sys.stdin.buffer, settings, jsonl=False)
        from doer.frontends.terminal import wants_line_mode

        if args.line_mode or args.jsonl or wants_line_mode(sys.stdin):
            from doer.frontends.lines import run_lines

            return run_lines(settings, jsonl=args.jsonl)
        color = not (args.no_color or os.environ.get("NO_COLOR"))
        return _run_interactive(settings, color)
    except HandlerError as exc:  # the console loads the handler modules as it is made
        print(f"doer: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Terminated as exc:
        return int(exc.code or 1)
    except KeyboardInterrupt:
        return 130


def _check_available(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with one line if the kind cannot start here (Ray is not installed), or if
    ``--address`` is given for the Ray workers to come and they could not."""
    # --address is the Ray kind's option: the workers it is for are Ray's.
    kinds = dict.fromkeys([args.kind, *(["ray"] if args.address else [])])
    for kind in kinds:
        why = link_class(kind).unavailable()
        if why is not None:
            parser.exit(EXIT_USAGE, f"doer: {why}\n")


def _check_interactive(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``-i`` needs ``--script``, and is for a person: exit with one line if not so."""
    if args.script is None:
        parser.exit(EXIT_USAGE, "doer: -i needs --script FILE: the lines to run first\n")
    if args.jsonl:
        parser.exit(EXIT_USAGE, "doer: -i is for a person at the prompt; --jsonl for programs\n")


def _run_script_then_prompt(path: str, settings: Settings, args: argparse.Namespace) -> int:
    """``-i --script FILE``: FILE's lines as if typed, then the lines typed.

    Where the shell would run, each line shows as ``> line`` with its answers
    before the next, then the prompt comes with the workers they started. On a
    pipe (plain mode) the lines of the file come first, then those piped in;
    in line mode each is shown after its prompt, as if typed there.
    """
    try:
        with open(path, "rb") as file:
            script = file.read().split(b"\n")
    except OSError as exc:
        print(f"doer: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    if script and not script[-1]:
        script.pop()  # the file's last newline ends its last line: no empty line after
    if not sys.stdin.isatty() and not args.line_mode:
        from doer.frontends.plain import run_plain

        return run_plain(sys.stdin.buffer, sys.stdout, settings, first=script)
    from doer.frontends.terminal import wants_line_mode

    if args.line_mode or not sys.stdout.isatty() or wants_line_mode(sys.stdin):
        return _run_lines_after(script, settings)
    color = not (args.no_color or os.environ.get("NO_COLOR"))
    lines = [raw.decode("utf-8", "replace").rstrip("\r") for raw in script]
    return _run_interactive(settings, color, script=lines)


def _run_lines_after(script: list[bytes], settings: Settings) -> int:
    """Line mode, after the ``script``'s lines, each shown after a prompt as if typed."""
    from doer.frontends.lines import LineRunner

    runner = LineRunner(settings, sys.stdin.buffer, sys.stdout)

    def as_typed() -> Iterator[bytes]:
        for raw in script:
            runner.write_prompt()
            runner.out.write(raw.decode("utf-8", "replace").rstrip("\r") + "\n")
            yield raw

    lines = itertools.chain(as_typed(), runner.prompted_lines())
    return runner.line_mode_status(runner.run(lines))


def _run_interactive(settings: Settings, color: bool, script: list[str] | None = None) -> int:
    """Start the worker and the shell, in the order that shows the prompt soonest.

    Importing prompt-toolkit is most of the time to the first prompt, and it
    keeps one core busy; the machine may have only two. So:

    - a thread or a forked worker starts before the import (a fork then copies
      a small process, and costs the import nothing);
    - for a spawned or forkserver worker, the helper processes multiprocessing
      needs (its resource tracker, the fork server) start before the import and
      boot on the other core while it runs (the kind's ``prepare`` starts them,
      and says that the worker boots an interpreter); the worker itself starts
      after the import, and boots while the prompt is drawn. Started before the
      import, it would make three interpreters booting beside it on two cores,
      and the import would wait for a core.

    An asyncio worker is a task on the shell's event loop (``on_event_loop``):
    the shell starts it once its loop runs. The prompt never waits for the
    worker to boot: its start event is printed above the prompt when it comes.
    """
    mailbox = Mailbox()
    console = Console(settings, listener=mailbox.put)
    first_line = plain(creating_line())
    print(first_line, flush=True)
    console.transcript.add(first_line)  # printed before the shell starts: .save keeps it
    kind = link_class(settings.kind)
    boots_an_interpreter = kind.prepare(settings.start_method)
    if not boots_an_interpreter and not kind.on_event_loop:  # a task waits for the loop
        console.start()
    try:
        from doer.frontends.shell import run_shell

        if boots_an_interpreter:
            console.start()

        return run_shell(console, mailbox, color=color, script=script)
    finally:
        # After SIGTERM or SIGHUP the shell's event loop is closed: the records the
        # worker still sends (its end event) are printed plainly, not handed to it.
        mailbox.attach(_print_record)
        console.stop_all(timeout=1.0)  # a no-op after .quit; a quick clean-up on any other exit


def _print_record(worker: Worker, record: Record) -> None:
    """Print a record once the shell has gone (called in the worker's reply reader)."""
    try:
        print(plain(record_line(worker, record)), flush=True)
    except (OSError, ValueError):  # the terminal hung up, or stdout is closed
        pass


def _run_plain(stream: BinaryIO, settings: Settings, *, jsonl: bool) -> int:
    from doer.frontends.plain import run_plain

    return run_plain(stream, sys.stdout, settings, jsonl=jsonl)


def _run_script_file(path: str, settings: Settings, *, jsonl: bool) -> int:
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed below, after the run
    except OSError as exc:
        print(f"doer: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    with stream:
        return _run_plain(stream, settings, jsonl=jsonl)


def _run_commands(commands: list[str], settings: Settings, *, jsonl: bool) -> int:
    """``-c LINE ...``: the lines in order, then the end, as ``python -c`` does; only
    what answers them is printed (no echo, no start event)."""
    from doer.frontends.plain import run_plain

    lines = io.BytesIO("\n".join(commands).encode("utf-8", "surrogateescape") + b"\n")
    return run_plain(lines, sys.stdout, settings, jsonl=jsonl, quiet=True)


def _exit_cleanly_on(*signals: signal.Signals) -> None:
    """Turn ``signals`` into an exception in the main thread, so workers are stopped."""

    def handler(signum: int, frame: FrameType | None) -> None:
        exc = Terminated(128 + signum)
        asyncio = sys.modules.get("asyncio")  # only the shell imports it: plain mode stays lean
        try:
            loop = asyncio.get_running_loop() if asyncio else None
        except RuntimeError:
            loop = None
        if loop is None:  # plain mode, or before the shell's loop runs
            raise exc
        # Raised here, it would land in whatever task the loop is running (printing
        # a reply, say) and be reported as "Task exception was never retrieved". A
        # callback that raises SystemExit stops the loop itself, and asyncio.run()
        # then cancels the shell's tasks and lets it out.
        loop.call_soon_threadsafe(_raise, exc)

    for sig in signals:
        signal.signal(sig, handler)


def _raise(exc: BaseException) -> NoReturn:
    raise exc
