"""The Doer loop, driven directly through two ``queue.Queue``: no thread, no process.

Each test queues its requests up front, runs the loop in the test's own thread
and reads what the loop put on the outbox. The inbox ends with an ``EOFError``
(the console going away), so a loop that does not stop on ``exit`` still
returns instead of blocking.
"""

from __future__ import annotations

import asyncio
import math
import os
import pickle
import queue
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from doer.base.protocol import (
    OLDEST_PENDING,
    Ended,
    Failure,
    Reply,
    Request,
    Started,
    UnreadableRequest,
)
from doer.console.render import record_text
from doer.worker.doer import BUILTIN_HANDLERS, BUILTIN_MESSAGES, AsyncDoer, Doer, Handler, gil_text
from support.handlers import HANDLERS


def run_doer(
    *messages: Any,
    state: Any = 42,
    handlers: Mapping[str, Handler] | None = None,
    send: Callable[[Any], None] | None = None,
    kind: str = "thread",
    start_method: str | None = None,
) -> list[Any]:
    """Run a Doer over ``messages`` and return every record it sent, in order.

    Each message becomes ``Request(n, message)``, numbered from 1; an exception
    instance is raised by ``receive()`` in its place instead. ``send`` wraps the
    outbox's ``put`` when given (it is called with ``put`` and the record).
    """
    inbox: queue.Queue[Request | BaseException] = queue.Queue()
    ids = iter(range(1, len(messages) + 1))
    for message in messages:
        inbox.put(message if isinstance(message, BaseException) else Request(next(ids), message))
    inbox.put(EOFError("the console went away"))
    outbox: queue.Queue[Any] = queue.Queue()

    def receive() -> Request:
        item = inbox.get_nowait()  # everything was queued up front: never blocks
        if isinstance(item, BaseException):
            raise item
        return item

    doer = Doer(
        receive,
        outbox.put if send is None else send,
        state,
        kind=kind,
        start_method=start_method,
        handlers=handlers,
    )
    doer.run()
    return [outbox.get_nowait() for _ in range(outbox.qsize())]


def answers(records: list[Any]) -> list[Any]:
    """The records between the start event and the end event."""
    return [record for record in records if type(record) in (Reply, Failure)]


def answers_state(message: Any) -> tuple[Any, ...]:
    """The state a reply reports: only set-state changes it."""
    if type(message) is tuple and message[:1] == ("set-state",):
        return (message[1],)
    return ()


def test_the_recipe_runs_in_order() -> None:
    records = run_doer("ping", "foo", ("set-state", "hola!"), "exit")

    pid = os.getpid()
    assert records == [
        Started(
            "thread",
            pid,
            os.getppid(),
            threading.current_thread().name,
            threading.get_native_id(),
            None,
            42,
        ),
        Reply(1, "pong"),
        Reply(2, "unknown message foo"),
        Reply(3, "new state: hola!", ("hola!",)),
        Ended(4, "hola!", pid, ""),
    ]
    assert [record_text(record) for record in records] == [
        f"on start: state: 42, pid: {pid}",
        "pong",
        "unknown message foo",
        "new state: hola!",
        f"on end: state: hola!, pid: {pid}",
    ]


def test_messages_after_exit_are_not_read() -> None:
    records = run_doer("exit", "ping")

    assert records[-1] == Ended(1, 42, os.getpid(), "")
    assert answers(records) == []


def test_the_start_event_reports_the_kind_and_start_method_it_was_given() -> None:
    started = run_doer(kind="process", start_method="spawn")[0]

    assert type(started) is Started
    assert (started.kind, started.start_method, started.state) == ("process", "spawn", 42)


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        ("ping", "pong"),
        ("get-state", "state: 42"),
        (("set-state", [1, 2]), "new state: [1, 2]"),
        (("sleep", 0), "slept 0 s"),
        (("sleep", 0.001), "slept 0.001 s"),
        ("foo", "unknown message foo"),
        (("foo", 1), "unknown message ('foo', 1)"),
        (42, "unknown message 42"),
        ((), "unknown message ()"),
        ((1, 2), "unknown message (1, 2)"),
        (["ping"], "unknown message ['ping']"),
        (("exit",), "unknown message ('exit',)"),
        (("ping",), "pong"),
    ],
)
def test_each_message_gets_its_reply(message: Any, reply: str) -> None:
    assert answers(run_doer(message)) == [Reply(1, reply, answers_state(message))]


def test_whoami_names_the_pid_the_thread_the_start_method_and_the_gil() -> None:
    [reply] = answers(run_doer("whoami", kind="process", start_method="forkserver"))

    # A forkserver's child: its parent is the server, and it says so. The thread by
    # its name where the line has room, else as "thread", else (a long pid) not at all.
    tid = threading.get_native_id()
    assert reply.value in [
        f"pid {os.getpid()}, ppid {os.getppid()} (the forkserver), {thread}GIL on"
        for thread in (f"{threading.current_thread().name} {tid}, ", f"thread {tid}, ", "")
    ]


@pytest.mark.parametrize(("is_enabled", "said"), [(True, "GIL on"), (False, "GIL off: ")])
def test_whoami_says_when_the_gil_is_off(
    monkeypatch: pytest.MonkeyPatch, is_enabled: bool, said: str
) -> None:
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: is_enabled, raising=False)
    assert gil_text().startswith(said)


def test_whoami_says_a_thread_has_no_start_method() -> None:
    [reply] = answers(run_doer("whoami"))

    assert " by " not in reply.value and reply.value.endswith(", GIL on")


def test_a_handler_that_raises_becomes_a_failure_naming_the_exception_and_the_loop_goes_on() -> (
    None
):
    records = run_doer("boom", "ping", handlers=HANDLERS)

    assert answers(records) == [Failure(1, "RuntimeError: boom"), Reply(2, "pong")]


@pytest.mark.parametrize(
    ("message", "usage"),
    [
        (("ping", 1), "usage: ping (got 1 value(s))"),
        ("set-state", "usage: set-state VALUE (got 0 value(s))"),
        (("set-state", 1, 2), "usage: set-state VALUE (got 2 value(s))"),
        ("sleep", "usage: sleep SECONDS (got 0 value(s))"),
    ],
)
def test_a_wrong_number_of_values_is_a_usage_failure(message: Any, usage: str) -> None:
    assert answers(run_doer(message, "ping")) == [
        Failure(1, f"TypeError: {usage}"),
        Reply(2, "pong"),
    ]


def test_a_type_error_inside_a_handler_is_not_taken_for_a_usage_error() -> None:
    [failure] = answers(run_doer("add-one-to-text", handlers=HANDLERS))

    assert type(failure) is Failure
    assert failure.error.startswith("TypeError: unsupported operand")


def test_handlers_passed_in_extend_and_replace_the_builtin_ones() -> None:
    def loud_ping(doer: Doer) -> str:
        return "PONG"

    def double(doer: Doer, value: int) -> int:
        return 2 * value

    records = run_doer(
        "ping", ("double", 21), "get-state", handlers={"ping": loud_ping, "double": double}
    )

    assert answers(records) == [Reply(1, "PONG"), Reply(2, 42), Reply(3, "state: 42")]


def test_the_builtin_messages_are_the_handlers_and_exit() -> None:
    assert set(BUILTIN_MESSAGES) == {*BUILTIN_HANDLERS, "exit"}
    assert set(BUILTIN_HANDLERS) == {
        *("ping", "set-state", "get-state", "whoami", "sleep"),
        *("incr", "race", "work", "crash", "die", "segfault", "inherited", "get-lock"),
        "deadlock",
    }


def test_a_reply_that_cannot_be_sent_becomes_a_failure_saying_so() -> None:
    outbox: list[Any] = []
    refused: list[Any] = []

    def send(record: Any) -> None:
        if type(record) is Reply and not refused:
            refused.append(record)
            raise pickle.PicklingError("cannot pickle this reply")
        outbox.append(record)

    run_doer("ping", "ping", send=send)

    assert refused == [Reply(1, "pong")]
    assert answers(outbox) == [
        Failure(1, "answer not sent: cannot pickle this reply"),
        Reply(2, "pong"),
    ]


def test_a_request_that_cannot_be_read_is_a_failure_for_the_oldest_pending_request() -> None:
    unreadable = UnreadableRequest("the request could not be read here: AttributeError: nope")

    records = run_doer(unreadable, "ping")

    assert answers(records) == [
        Failure(OLDEST_PENDING, "the request could not be read here: AttributeError: nope"),
        Reply(1, "pong"),
    ]


@pytest.mark.parametrize(
    "gone",
    [EOFError(), OSError("bad file descriptor"), BrokenPipeError()],
    ids=lambda exc: type(exc).__name__,
)
def test_the_loop_returns_quietly_when_the_inbox_says_the_console_is_gone(
    gone: Exception,
) -> None:
    records = run_doer("ping", gone, "ping")

    assert [type(record) for record in records] == [Started, Reply]


def test_the_loop_returns_quietly_when_the_outbox_says_the_console_is_gone() -> None:
    outbox: list[Any] = []

    def send(record: Any) -> None:
        if type(record) is Reply:
            raise BrokenPipeError("the console closed its end")
        outbox.append(record)

    run_doer("ping", "ping", send=send)  # returns: no exception, no end event

    assert [type(record) for record in outbox] == [Started]


def test_a_handler_calling_sys_exit_ends_the_worker_with_the_reason() -> None:
    records = run_doer("ping", ("quit", 2), "ping", handlers=HANDLERS)

    assert answers(records) == [Reply(1, "pong")]
    assert records[-1] == Ended(0, 42, os.getpid(), "a handler called sys.exit(2)")


def test_the_reply_carries_the_state_only_when_a_handler_changed_it() -> None:
    records = run_doer("ping", ("set-state", "hola!"), "get-state", ("set-state", "adiós"))

    assert [reply.state for reply in answers(records)] == [(), ("hola!",), (), ("adiós",)]


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-1, "-1"),
        (-0.5, "-0.5"),
        ("abc", "abc"),
        (True, "True"),
        (None, "None"),
        ([1], "[1]"),
        (math.nan, "nan"),
        (math.inf, "inf"),
    ],
)
def test_sleep_refuses_anything_but_a_finite_number_of_seconds(seconds: Any, shown: str) -> None:
    assert answers(run_doer(("sleep", seconds))) == [
        Failure(1, f"ValueError: sleep takes seconds >= 0, not {shown}")
    ]


def test_the_end_event_carries_the_final_state_and_the_exit_request_id() -> None:
    records = run_doer(("set-state", "hola!"), "ping", "exit")

    assert records[-1] == Ended(3, "hola!", os.getpid(), "")


@pytest.mark.parametrize("new", [1.0, True], ids=["1 -> 1.0", "1 -> True"])
def test_a_state_set_to_an_equal_value_of_another_type_is_reported_as_changed(new: Any) -> None:
    """``1 == 1.0 == True``, but they are three states: the check is ``is``, not ``==``."""
    records = run_doer(("set-state", new), "get-state", state=1)

    changed, unchanged = answers(records)
    assert changed.state == (new,)
    assert type(changed.state[0]) is type(new)
    assert unchanged.state == ()
    assert changed.value == f"new state: {new}"


# --- the same loop as an asyncio task (AsyncDoer) ----------------------------------


async def run_async_doer(
    *messages: Any, state: Any = 42, handlers: Mapping[str, Handler] | None = None
) -> list[Any]:
    """Run an AsyncDoer over ``messages`` (then ``exit``) on this test's loop."""
    inbox: asyncio.Queue[Request] = asyncio.Queue()
    for number, message in enumerate([*messages, "exit"], 1):
        inbox.put_nowait(Request(number, message))
    outbox: list[Any] = []
    await AsyncDoer(inbox.get, outbox.append, state, handlers=handlers).run_async()
    return outbox


async def test_an_async_doer_runs_the_recipe_and_names_its_task() -> None:
    records = await run_async_doer("ping", "foo", ("set-state", "hola!"), "whoami")

    started, pong, foo, new_state, whoami, ended = records
    assert type(started) is Started and started.kind == "asyncio" and started.state == 42
    assert (pong, foo, new_state) == (
        Reply(1, "pong"),
        Reply(2, "unknown message foo"),
        Reply(3, "new state: hola!", ("hola!",)),
    )
    task = asyncio.current_task()
    assert task is not None
    assert whoami.value.endswith(f", task {task.get_name()}, GIL on")
    assert ended == Ended(5, "hola!", os.getpid(), "")


async def test_an_async_doer_awaits_sleep_so_the_loop_runs_on() -> None:
    ran_meanwhile: list[str] = []

    async def meanwhile() -> None:
        ran_meanwhile.append("other task")

    other = asyncio.ensure_future(meanwhile())
    records = await run_async_doer(("sleep", 0.05))
    await other
    assert answers(records) == [Reply(1, "slept 0.05 s")]
    assert ran_meanwhile == ["other task"]


async def test_an_async_doer_awaits_a_coroutine_handler_and_reports_its_errors() -> None:
    async def double(doer: Doer, value: Any) -> Any:
        await asyncio.sleep(0)
        doer.state = value * 2
        return f"doubled: {value * 2}"

    async def broken(doer: Doer) -> Any:
        raise RuntimeError("boom")

    records = await run_async_doer(
        ("double", 5), "broken", ("sleep", -1), handlers={"double": double, "broken": broken}
    )
    assert answers(records) == [
        Reply(1, "doubled: 10", (10,)),
        Failure(2, "RuntimeError: boom"),
        Failure(3, "ValueError: sleep takes seconds >= 0, not -1"),
    ]


async def test_an_async_doer_ends_with_the_reason_when_a_handler_calls_sys_exit() -> None:
    records = await run_async_doer("quit", "ping", handlers=HANDLERS)
    assert records[-1] == Ended(0, 42, os.getpid(), "a handler called sys.exit(2)")
