"""The class runs itself, through a real pty: what only a terminal shows.

``doer -i --script FILE`` on a terminal runs the file's lines, then gives the
prompt with the workers they made; ``.save FILE.cast`` then records the whole
session, from the console's first line. The logic is tested in-process in
``test_class_setup.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from support.pty_helpers import Terminal

Launch = Callable[..., Terminal]  # the conftest fixture `launch`


def test_i_script_runs_the_file_then_stays_at_the_prompt_and_save_records_it(
    launch: Launch, tmp_path: Path
) -> None:
    script = tmp_path / "class.doer"
    script.write_text(".spawn t1,t2 thread\n@t1 set-state 5\n")
    cast = tmp_path / "class.cast"

    term = launch("-i", "--script", str(script))  # waits for the first prompt
    before_prompt = term.text
    for line in ("> .spawn t1,t2 thread", "[t2 thread", "> @t1 set-state 5", "new state: 5"):
        assert line in before_prompt, before_prompt
    term.sendline("@t1 get-state")  # to a worker the script made
    term.expect(r"\[t1 thread \d+\] state: 5")
    term.sendline(f".save {cast}")
    term.expect(rf"saved \d+ lines to {cast}")

    header, *events = cast.read_text().splitlines()
    assert json.loads(header)["version"] == 2
    shown = [json.loads(event)[2] for event in events]
    assert shown[0].startswith("creating doer from process"), shown
    assert "> .spawn t1,t2 thread\r\n" in shown
    assert "> @t1 get-state\r\n" in shown
    assert shown[-1] == f"> .save {cast}\r\n"
