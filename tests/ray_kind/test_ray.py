"""The ray kind: the same worker as a Ray actor.

The tests marked ``ray`` join the test session's cluster (see the root
conftest.py: one cluster for the whole run, as one costs seconds to start);
the two that are about a console's *private* cluster start one each. Without
Ray installed they skip, saying so.

Three layers, as for the other kinds: the library checks every kind passes,
run on a Ray worker; the console in plain mode (the recipe, shared workers,
authentication); a real terminal for what only it shows (nothing Ray prints
reaches the screen; the cluster ends with the console, even a killed one).
"""

from __future__ import annotations

import inspect
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import doer
from doer.base.protocol import Died, Ended, Failure, Reply
from doer.kinds.ray_actor import link as ray_kind
from doer.worker.handler_modules import HandlerModules
from support import handlers
from support.helpers import Kind, Recorder, WorkerFactory, pid_is_gone, stat_fields, wait_until
from support.pty_helpers import DOER, Terminal, console_env, feed, plain_console
from unit import test_client, test_supervision

pytestmark = [
    pytest.mark.ray,
    pytest.mark.skipif(
        not ray_kind.installed(), reason="Ray is not installed: pip install 'doer[ray]'"
    ),
]

RAY = Kind("ray")
T = 30.0  # generous: an actor answers in about a millisecond


@pytest.fixture
def make_ray_worker() -> Iterator[WorkerFactory]:
    factory = WorkerFactory(RAY)
    yield factory
    factory.stop_all()  # its actor's process too: Ray ends it on stop()


# --- the library: what every kind does ----------------------------------------------

#: The checks of test_client.py that hold for every kind, run here on a Ray worker:
#: those where the link matters (the others test the Worker alone, the same for all).
#: Those that leave their worker as they found it (running, nothing pending; the
#: state aside) share one actor per test process (``shared_ray_worker``, as do other
#: such tests below), as an actor takes most of a second to start; the others (a
#: listener, the state it starts with, the end) each start their own.
LEAVE_IT_RUNNING = [
    test_client.test_ask_returns_the_reply_to_each_builtin_message,
    test_client.test_tell_returns_a_pending_that_resolves_to_the_reply,
    test_client.test_many_told_at_once_are_answered_once_each_in_order,
    test_client.test_callers_on_several_threads_each_get_their_own_reply,
    test_client.test_asks_racing_a_tell_from_another_thread_all_get_their_own_answers,
    test_client.test_a_wrong_number_of_values_gives_a_worker_error_with_the_usage,
]
EACH_ITS_OWN = [
    test_client.test_ten_thousand_pipelined_tells_are_answered_once_each_in_order,
    test_client.test_the_worker_state_follows_set_state,
    test_client.test_exit_ends_the_worker_and_a_later_tell_raises_worker_gone,
    test_client.test_stop_answers_what_was_sent_before_then_joins_and_returns_the_end_record,
    test_client.test_the_listener_receives_every_record_in_order,
    test_supervision.test_a_worker_that_dies_is_restarted_fresh_with_the_state_it_was_given,
]


@pytest.fixture(scope="module")
def shared_ray_worker() -> Iterator[doer.Worker]:
    """One Ray worker for the checks that leave it running; stopped and checked at the end."""
    factory = WorkerFactory(RAY)
    yield factory()
    factory.stop_all()


@pytest.mark.parametrize("check", LEAVE_IT_RUNNING, ids=lambda check: check.__name__[5:])
def test_what_every_kind_does_a_shared_ray_worker_does(
    check: Callable[..., None], shared_ray_worker: doer.Worker
) -> None:
    assert shared_ray_worker.alive and shared_ray_worker.pending == 0, "as the last check left it"
    check(shared_ray_worker)


@pytest.mark.parametrize("check", EACH_ITS_OWN, ids=lambda check: check.__name__[5:])
def test_what_every_kind_does_a_ray_worker_does(
    check: Callable[..., None], make_ray_worker: WorkerFactory, request: pytest.FixtureRequest
) -> None:
    given = {"worker": make_ray_worker, "make_worker": make_ray_worker, "kind": RAY}
    arguments = {}
    for name in inspect.signature(check).parameters:
        if name == "worker":
            arguments[name] = make_ray_worker()
        elif name in given:
            arguments[name] = given[name]
        else:
            arguments[name] = request.getfixturevalue(name)
    check(**arguments)


def test_the_start_event_and_whoami_name_the_actor_s_pid_and_node(
    shared_ray_worker: doer.Worker,
) -> None:
    worker = shared_ray_worker
    started = worker.started
    assert started is not None
    assert (started.kind, started.state) == ("ray", 42)
    assert started.pid == worker.pid != os.getpid(), "the actor is a process of its own"
    node = re.fullmatch(r"node ([0-9a-f]{8}) on (\S+) \((\S+)\)", started.node or "")
    assert node, started.node
    whoami = worker.ask("whoami", timeout=T)
    assert whoami == f"pid {worker.pid}, ppid {started.ppid}, {started.node}"
    assert worker.ask("inherited", timeout=T).endswith("nothing of the console's is there)")


def test_an_actor_killed_from_outside_is_reported_within_a_second_and_fails_what_waits(
    make_ray_worker: WorkerFactory,
) -> None:
    recorder = Recorder()
    worker = make_ray_worker(listener=recorder)
    held = worker.tell(("sleep", 30))
    queued = worker.tell("ping")

    os.kill(worker.pid, signal.SIGKILL)

    assert recorder.finished.wait(timeout=1.0), "no Died record within 1 s of the kill"
    assert isinstance(worker.ended, Died)
    assert worker.ended.reason.startswith("its actor's process ended abruptly")
    for pending in (held, queued):
        with pytest.raises(doer.WorkerError, match=r"unanswered: the worker died$"):
            pending.result(timeout=0)


def test_a_supervised_actor_killed_from_outside_is_restarted_and_answers_again(
    make_ray_worker: WorkerFactory,
) -> None:
    """doer's supervisor, not Ray's max_restarts: the death is seen and said, the
    request it held fails once, and a fresh actor (a new process) answers."""
    worker = make_ray_worker(restart="on-failure")
    killed = worker.pid
    held = worker.tell(("sleep", 30))

    os.kill(killed, signal.SIGKILL)

    with pytest.raises(doer.WorkerError, match=r"unanswered: the worker died$"):
        held.result(timeout=test_supervision.START_TIMEOUT_S)
    fresh = test_supervision.restarted(worker)
    assert worker.ask("ping") == "pong" and fresh.pid not in (None, killed)
    [restart] = worker.restarts
    assert (restart.old_pid, restart.new_pid) == (killed, fresh.pid)
    assert restart.why.startswith("died: its actor's process ended abruptly")


def test_an_idle_actor_that_dies_is_reported_at_once(make_ray_worker: WorkerFactory) -> None:
    recorder = Recorder()
    worker = make_ray_worker(listener=recorder)

    os.kill(worker.pid, signal.SIGKILL)  # nothing waits for an answer: the watch sees it

    assert recorder.finished.wait(timeout=1.0), "no Died record within 1 s of the kill"
    with pytest.raises(doer.WorkerGone, match="died"):
        worker.tell("ping")


def test_kill_ends_the_actor_with_ray_kill(make_ray_worker: WorkerFactory) -> None:
    recorder = Recorder()
    worker = make_ray_worker(listener=recorder)
    held = worker.tell(("sleep", 30))

    assert worker.kill() is True

    assert recorder.finished.wait(timeout=1.0), "no Died record within 1 s of kill()"
    assert worker.ended == Died("killed with ray.kill")
    assert isinstance(held.wait(0), Failure)
    wait_until(lambda: pid_is_gone(worker.pid), T, "the killed actor's process to exit")


@pytest.mark.parametrize("message", ["die", "segfault"])
def test_an_actor_that_dies_in_a_handler_is_reported_and_the_console_goes_on(
    make_ray_worker: WorkerFactory, message: str
) -> None:
    recorder = Recorder()
    worker = make_ray_worker(listener=recorder)

    pending = worker.tell(message)

    assert recorder.finished.wait(timeout=T)
    assert isinstance(pending.wait(0), Failure)
    assert isinstance(worker.ended, Died)


def test_a_reply_that_does_not_pickle_fails_alone(shared_ray_worker: doer.Worker) -> None:
    worker = shared_ray_worker
    pendings = [worker.tell("ping"), worker.tell("get-lock"), worker.tell("ping")]

    answers = [pending.wait(T) for pending in pendings]

    assert [type(answer) for answer in answers] == [Reply, Failure, Reply]
    assert answers[0].value == answers[2].value == "pong"  # type: ignore[union-attr]
    assert isinstance(answers[1], Failure)
    assert answers[1].error.startswith("answer not sent: cannot pickle")


def test_a_shared_actor_is_one_worker_for_several_consoles_and_outlives_their_leaving(
    make_ray_worker: WorkerFactory, tmp_path: Path
) -> None:
    name = f"shared-{os.getpid()}-{time.monotonic_ns()}"
    first = doer.start("ray", 1, name=name, shared=True, handlers=HandlerModules([handlers.FILE]))
    first.wait_started(T)
    second = doer.start("ray", 99, name=name, shared=True)
    try:
        started = second.wait_started(T)
        assert (started.pid, started.state) == (first.pid, 1), "found by its name, as it is"
        assert first.ask(("set-state", "seen by both"), timeout=T) == "new state: 'seen by both'"
        assert second.ask("get-state", timeout=T) == "state: 'seen by both'"

        gate = tmp_path / "open"
        busy = first.tell(("gate", str(gate)))  # busy until the gate opens
        # As at .quit!: not waited for, and what does not end at once is "killed". This
        # console leaves; the actor stays.
        assert doer.stop_all([first], timeout=0.2, leave_shared=True) == []

        assert first.ended == Ended(0, "seen by both", first.pid, "left running, shared")
        assert isinstance(busy.wait(0), Failure)
        gate.touch()
        assert second.ask("ping", timeout=T) == "pong"
        assert not pid_is_gone(second.pid)
    finally:
        ended = second.stop(T)  # .stop ends it for everyone
    assert ended == Ended(3, "seen by both", second.pid, "")
    wait_until(lambda: pid_is_gone(second.pid), T, "the shared actor's process to exit")


# --- the console, in plain mode -------------------------------------------------------


def _plain(
    args: list[str], lines: str, tmp_path: Path, *, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DOER, *args],
        input=lines,
        capture_output=True,
        text=True,
        env={**console_env(tmp_path), **(env or {})},
        timeout=120,
        check=False,
    )


def test_the_recipe_runs_as_a_ray_actor(tmp_path: Path) -> None:
    done = _plain(
        ["--kind", "ray", "--state", "42"], "ping\nwhoami\nset-state hola\nexit\n", tmp_path
    )

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    started = re.fullmatch(
        r"\[w1 ray (\d+)\] on start: state: 42, pid: \1, on \S+ \(\S+\)",
        lines[1],
    )
    assert started, lines
    pid = started.group(1)
    assert lines[2:] == [
        "> ping",
        f"[w1 ray {pid}] pong",
        "> whoami",
        f"[w1 ray {pid}] pid {pid}, " + lines[5].split(", ", 1)[1],
        "> set-state hola",
        f"[w1 ray {pid}] new state: hola",
        "> exit",
        f"[w1 ray {pid}] on end: state: hola, pid: {pid}",
    ]
    assert "node " in lines[5]
    assert done.stderr == ""


def test_two_consoles_share_a_ray_worker_and_each_gets_its_own_answers(tmp_path: Path) -> None:
    name = f"class{os.getpid()}"
    count = 1000

    def console() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [DOER, "--kind", "thread"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=console_env(tmp_path),
        )

    consoles = {who: console() for who in "ab"}
    outputs = {}

    def run(who: str) -> None:
        lines = [f".spawn {name} ray --shared", f".use {name}"]
        lines += [f"set-state {who}{n}" for n in range(count)]
        outputs[who] = consoles[who].communicate("\n".join(lines) + "\n", timeout=120)

    threads = [threading.Thread(target=run, args=(who,)) for who in consoles]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:  # it outlives both consoles: end it, as .stop would
        for process in consoles.values():
            process.kill()
            process.wait()
        with doer.start("ray", name=name, shared=True) as last:
            last.wait_started(T)
    pids = set()
    for who, (out, err) in outputs.items():
        answers = re.findall(rf"^\[{name} ray (\d+)\] new state: (\w+)$", out, re.MULTILINE)
        assert [value for _, value in answers] == [f"{who}{n}" for n in range(count)], out[-3000:]
        pids |= {pid for pid, _ in answers}
        assert "(left running, shared)" in out
        assert err == ""
    assert len(pids) == 1, "one actor answered both consoles"
    assert last.started is not None and last.started.pid == int(pids.pop()), "it outlived both"
    assert last.started.state in (f"a{count - 1}", f"b{count - 1}")


def test_a_cluster_that_refuses_the_token_is_one_line_at_once(tmp_path: Path) -> None:
    began = time.monotonic()
    done = _plain(["--kind", "ray"], "ping\n", tmp_path, env={"RAY_AUTH_TOKEN": "0" * 32})

    took = time.monotonic() - began
    assert done.returncode == 1
    assert re.search(
        r"^error: w1 did not start: the cluster refused our token: set RAY_AUTH_TOKEN$",
        done.stdout,
        re.MULTILINE,
    ), done.stdout
    assert took < 15, f"took {took:.1f} s (Ray alone retries for 20 s)"
    assert "Traceback" not in done.stdout + done.stderr


def test_a_cluster_that_wants_a_token_when_none_is_found_is_one_line(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "RAY_AUTH_TOKEN": "", "RAY_AUTH_TOKEN_PATH": ""}
    done = _plain(["--kind", "ray"], "ping\n", tmp_path, env=env)

    assert done.returncode == 1
    assert (
        "error: w1 did not start: no token here for the cluster: set RAY_AUTH_TOKEN\n"
        in done.stdout
    ), done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_without_ray_the_kind_is_one_line_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from doer import cli

    monkeypatch.setattr(ray_kind, "installed", lambda: False)
    with pytest.raises(SystemExit) as ended:
        cli.main(["--kind", "ray"])
    assert ended.value.code == 2
    assert capsys.readouterr().err == f"doer: {ray_kind.NOT_INSTALLED}\n"
    with pytest.raises(ValueError, match=re.escape(ray_kind.NOT_INSTALLED)):
        doer.start("ray")


def test_ray_options_are_for_ray_workers_only(tmp_path: Path) -> None:
    done = _plain(
        ["--kind", "thread"], ".spawn p1 process --shared\n.spawn p2 --address x\n", tmp_path
    )

    assert done.stdout.count("error: --address and --shared apply to ray workers") == 2


# --- a real terminal, and a private cluster -----------------------------------------------


def _processes() -> Iterator[tuple[int, list[str], bytes]]:
    """Every process: its pid, its /proc stat fields after the name, its command line."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = stat_fields(int(entry))
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    command = file.read()
            except OSError:
                continue
            yield int(entry), fields, command


def _cluster_program(console_pid: int) -> int:
    """The pid of the private cluster's program the console started."""
    for pid, fields, command in _processes():
        if int(fields[1]) == console_pid and b"doer.kinds.ray_actor.cluster" in command:
            return pid
    raise AssertionError(f"no cluster program under the console {console_pid}")


def _in_group(group: int) -> list[tuple[int, bytes]]:
    """The live processes of process group ``group``, with their command lines."""
    return [
        (pid, command)
        for pid, fields, command in _processes()
        if int(fields[2]) == group and fields[0] not in ("Z", "X")
    ]


@pytest.mark.parametrize("how", ["quit", "sigkill"])
def test_a_private_cluster_ends_with_its_console_and_nothing_ray_prints_reaches_the_screen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.delenv(ray_kind.ADDRESS_VARIABLE, raising=False)  # no cluster named: its own
    monkeypatch.delenv("DOER_RAY_LOG", raising=False)  # the default log, removed at the end
    term = Terminal(["--kind", "ray"], tmp_path)
    log = Path(tempfile.gettempdir()) / f"doer-ray-{term.child.pid}.log"
    try:
        term.expect(r"starting a private Ray cluster: a few seconds", 10)
        started = term.expect(r"\[w1 ray (\d+)\] on start: state: None, pid: \1, on ", 90)
        actor = int(started.group(1))
        program = _cluster_program(term.child.pid)
        sessions = set()
        for _, command in _in_group(program):
            sessions |= set(re.findall(rb"(/tmp/ray/session_[\w.-]+)", command))
        assert sessions, "Ray's processes are in the cluster program's group"
        raylets = [
            pid
            for pid, command in _in_group(program)
            if command.split(b"\0")[0].endswith(b"/raylet")
        ]
        assert len(raylets) == 1, _in_group(program)
        # Ray's worker processes (idle ones, actors) are the raylet's children, in groups
        # of their own.
        workers = [pid for pid, fields, _ in _processes() if int(fields[1]) in raylets]
        assert actor in workers
        term.sendline("whoami")
        term.expect(rf"\] pid {actor}, ppid \d+, node ", 10)
        term.sendline(".status")
        term.expect(r"Ray's output: " + re.escape(str(log)), 10)
        if how == "quit":
            term.sendline(".spawn s ray --shared")
            shared = int(term.expect(r"\[s ray (\d+)\] on start: ", 30).group(1))
            term.sendline(".quit")
            # On the private cluster it cannot outlive the console: it is ended.
            term.expect(
                rf"\[s ray {shared}\] on end: state: None, pid: {shared}"
                r" \(ended with this console's cluster\)",
                10,
            )
            term.expect("stopping the private Ray cluster", 10)
            term.expect_eof(30)
        else:
            os.kill(term.child.pid, signal.SIGKILL)
        wait_until(lambda: not _in_group(program), 30, "the cluster's processes to end")
        wait_until(lambda: all(map(pid_is_gone, workers)), 30, "Ray's workers to end")
        wait_until(lambda: not any(map(os.path.exists, sessions)), 10, "the session folder to go")
        wait_until(lambda: not log.exists(), 10, "the default log to go")
    finally:
        term.close()
    screen = term.text
    for word in ("(raylet)", "WARNING", "INFO", "Started a local Ray instance", "Traceback"):
        assert word not in screen, f"{word!r} reached the screen:\n{screen}"


def test_handler_files_travel_to_the_actor_and_one_that_fails_there_is_one_line(
    tmp_path: Path,
) -> None:
    good = tmp_path / "good.py"
    good.write_text(
        "import doer, os\n\n@doer.handler\ndef where(worker):\n    return os.getpid()\n"
    )
    with doer.start("ray", handlers=HandlerModules([str(good)])) as worker:
        assert worker.ask("where", timeout=T) == worker.wait_started(T).pid

    broken = tmp_path / "broken.py"
    broken.write_text("import os\nif os.environ.get('RAY_JOB_ID') is not None:\n    nope\n")
    worker = doer.start("ray", handlers=HandlerModules([str(broken)]))
    with pytest.raises(doer.WorkerGone) as gone:
        worker.wait_started(T)
    worker.stop()
    assert str(gone.value) == (
        f"{worker.name} did not start: its handlers did not load: cannot load handlers"
        f" from {broken}: line 3: NameError: name 'nope' is not defined"
    )


def test_an_address_where_nothing_answers_is_one_line_at_once(tmp_path: Path) -> None:
    began = time.monotonic()
    done = _plain(["--kind", "ray", "--address", "127.0.0.1:1"], "ping\n", tmp_path)

    assert time.monotonic() - began < 15, "Ray alone retries for minutes"
    assert done.returncode == 1
    # One line: the end event that follows does not say it again.
    assert done.stdout.splitlines()[1:] == [
        "error: w1 did not start: no Ray cluster answers at 127.0.0.1:1",
        "> ping",
        "error: the worker has ended; .restart starts a fresh one",
    ]


def test_a_handler_the_actor_cannot_import_is_one_line(tmp_path: Path) -> None:
    module = tmp_path / "only_here.py"
    module.write_text("def double(doer, value):\n    return value * 2\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import only_here  # type: ignore[import-not-found]

        worker = doer.start("ray", handlers={"double": only_here.double})
        with pytest.raises(doer.WorkerGone) as gone:
            worker.wait_started(T)
        worker.stop()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("only_here", None)
    assert str(gone.value) == (
        f"{worker.name} did not start: its actor failed: ModuleNotFoundError: No module"
        " named 'only_here' (it must be importable where the actor runs; --handlers ships a file)"
    )


@pytest.mark.parametrize(
    ("environment", "token_file", "mode"),
    [
        ({"RAY_AUTH_MODE": "disabled"}, True, "token"),  # overruled: never without
        ({"RAY_AUTH_MODE": "disabled"}, False, None),  # Ray's default: it makes a token
        ({}, True, "token"),
        ({}, False, None),
    ],
)
def test_a_private_cluster_never_starts_without_authentication(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    environment: dict[str, str],
    token_file: bool,
    mode: str | None,
) -> None:
    from doer.kinds.ray_actor import cluster as ray_cluster

    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if token_file:
        (tmp_path / ".ray").mkdir()
        (tmp_path / ".ray" / "auth_token").write_text("0" * 32)

    ray_cluster._keep_authentication_on()

    assert os.environ.get("RAY_AUTH_MODE") == mode


def test_the_console_never_imports_ray(shared_ray_worker: doer.Worker) -> None:
    worker = shared_ray_worker
    assert worker.ask("ping", timeout=T) == "pong"
    assert "ray" not in sys.modules, "Ray is imported by the driver and the actor only"


def test_a_shared_worker_outlives_a_console_killed_with_sigkill(tmp_path: Path) -> None:
    name = f"kept{os.getpid()}"
    console = plain_console(tmp_path, "--kind", "thread")
    try:
        before, _ = feed(
            console, f".spawn {name} ray --shared\n".encode(), rf"\[{name} ray \d+\] on start"
        )
        actor = int(re.findall(rf"\[{name} ray (\d+)\] on start", before)[0])
        driver = [pid for pid, fields, _ in _processes() if int(fields[1]) == console.pid]
    finally:
        console.kill()
        console.wait()
    for pid in driver:  # its drivers end with it...
        wait_until(lambda pid=pid: pid_is_gone(pid), T, "the console's Ray driver to end")
    assert not pid_is_gone(actor), "...and the shared actor stays for the other consoles"
    with doer.start("ray", name=name, shared=True) as last:
        assert last.wait_started(T).pid == actor
    wait_until(lambda: pid_is_gone(actor), T, "the shared actor, stopped, to end")


def test_a_state_that_does_not_pickle_costs_no_answer_but_its_own(tmp_path: Path) -> None:
    locks = tmp_path / "locks.py"
    locks.write_text(
        "import threading, doer\n\n@doer.handler\ndef lock_state(worker):\n"
        "    worker.state = threading.Lock()\n    return 'locked'\n"
    )
    worker = doer.start("ray", 1, handlers=HandlerModules([str(locks)]))
    try:
        worker.wait_started(T)
        pendings = worker.tell_many(["ping", ("set-state", 7), "lock-state", "ping"])
        answers = [pending.wait(T) for pending in pendings]
        ended = worker.stop(T)
    finally:
        worker.stop()
    assert [getattr(answer, "value", None) for answer in answers] == [
        "pong", "new state: 7", None, "pong",
    ]  # fmt: skip
    assert isinstance(answers[2], Failure) and answers[2].error.startswith("answer not sent:")
    assert isinstance(ended, Ended), "exit is answered (not a kill after the timeout)"
    assert ended.state == "(lock, which does not pickle)"
