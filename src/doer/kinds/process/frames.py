"""A process worker's pipes: records as bytes, framed as ``multiprocessing`` frames them.

Only the process kind needs this module (and ``pickle``): the console does not
import it until a process worker is started.

:func:`encode` and :func:`decode` turn a record into bytes and back.

A ``multiprocessing`` ``Connection`` reads one record with two system calls
(its 4-byte length, then its bytes). When records arrive faster than they are
read — 10,000 answers to a ``.repeat`` — that is most of the reading's cost.
A :class:`FrameReader` reads whatever the pipe holds, up to 64 KiB, in one
call, and cuts it into the same records ``Connection.send_bytes`` framed:
a 4-byte big-endian signed length, or -1 and an 8-byte length for records of
2 GiB or more, then the bytes.

:func:`send_frame` writes a record as ``send_bytes`` does, header and bytes in
one ``os.write``, without the layers of checks around it (the round trip is
the console's hot path).
"""

from __future__ import annotations

import os
import pickle
import select
import struct
from multiprocessing.connection import Connection
from typing import Any

from doer.base.protocol import Control, Died, Ended, Failure, Note, Reply, Request, Started

# Died, Note and Control travel only between the console and a Ray worker's driver process.
_WIRE_TYPES: tuple[type[tuple[Any, ...]], ...] = (
    Request,
    Reply,
    Failure,
    Started,
    Ended,
    Died,
    Control,
    Note,
)
_WIRE_CODES = {cls: bytes((code,)) for code, cls in enumerate(_WIRE_TYPES)}


def encode(record: Any) -> bytes:
    """``record`` as bytes for a pipe: one byte for its type, then its fields as a
    plain tuple, pickled.

    A plain tuple, because a NamedTuple costs several times more to pickle (its
    class is looked up by name on every dump and rebuilt in Python on every
    load). The type goes in a byte of its own rather than in the tuple: every
    object made on the hot path counts towards the next garbage collection,
    and on a round trip those collections are the slowest 1%.

    Raises:
        pickle.PicklingError, TypeError, AttributeError: a field does not pickle.
    """
    return _WIRE_CODES[type(record)] + pickle.dumps(record[:], pickle.HIGHEST_PROTOCOL)


_REQUEST_CODE = _WIRE_CODES[Request][0]


def is_request(data: bytes) -> bool:
    """Whether ``data`` is an encoded :class:`Request`, told without unpickling it."""
    return data[0] == _REQUEST_CODE


def decode(data: bytes) -> Any:
    """The record :func:`encode` made ``data`` from.

    Raises:
        Exception: whatever unpickling raises (a class unknown here, say).
    """
    return tuple.__new__(_WIRE_TYPES[data[0]], pickle.loads(data[1:]))


CHUNK_BYTES = 1 << 16
_SHORT = struct.Struct("!i")
_LONG = struct.Struct("!Q")


def send_frame(connection: Connection, data: bytes) -> None:
    """Write ``data`` as one record, as ``connection.send_bytes(data)`` would.

    Raises:
        OSError: the pipe failed (its reader has gone: BrokenPipeError).
    """
    if len(data) >= 0x7FFFFFFF:  # the long header: rare enough to leave to multiprocessing
        connection.send_bytes(data)
        return
    frame = _SHORT.pack(len(data)) + data
    fd = connection.fileno()
    written = os.write(fd, frame)
    if written < len(frame):  # a pipe takes a big record in parts
        rest = memoryview(frame)[written:]
        while rest:
            rest = rest[os.write(fd, rest) :]


def send_frames(connection: Connection, records: list[bytes]) -> None:
    """Write ``records`` as :func:`send_frame` would, one after another, in one write.

    Raises:
        OSError: as :func:`send_frame`.
    """
    if any(len(data) >= 0x7FFFFFFF for data in records):
        for data in records:
            send_frame(connection, data)
        return
    frames = b"".join(_SHORT.pack(len(data)) + data for data in records)
    rest = memoryview(frames)
    fd = connection.fileno()
    while rest:
        rest = rest[os.write(fd, rest) :]


class FrameReader:
    """The reading end of a one-way pipe whose writer uses ``Connection.send_bytes``.

    Not thread-safe: one reader at a time (as :mod:`doer.client.replies` arranges).
    """

    def __init__(self, connection: Connection) -> None:
        self._fd = connection.fileno()
        self._buffer = bytearray()
        self._start = 0  # where the next record begins in the buffer

    def poll(self, timeout: float) -> bool:
        """True when a record can be read without waiting, or the pipe has ended."""
        if self._whole_record() is not None:
            return True
        readable, _, _ = select.select([self._fd], [], [], max(timeout, 0))
        return bool(readable)

    def recv_bytes(self) -> bytes:
        """The next record's bytes, waiting for them if need be.

        Raises:
            EOFError: the writer has closed its end before a whole record came.
            OSError: the pipe failed.
        """
        while (span := self._whole_record()) is None:
            self._fill()
        start, end = span
        data = bytes(self._buffer[start:end])
        self._start = end
        if self._start == len(self._buffer):  # all read: start the buffer afresh
            self._buffer.clear()
            self._start = 0
        return data

    def _whole_record(self) -> tuple[int, int] | None:
        """Where the next record's bytes lie in the buffer, if all of them are there."""
        available = len(self._buffer) - self._start
        if available < _SHORT.size:
            return None
        (size,) = _SHORT.unpack_from(self._buffer, self._start)
        header = _SHORT.size
        if size == -1:
            header += _LONG.size
            if available < header:
                return None
            (size,) = _LONG.unpack_from(self._buffer, self._start + _SHORT.size)
        if available < header + size:
            return None
        begin = self._start + header
        return begin, begin + size

    def _fill(self) -> None:
        """Read what the pipe holds (waiting until something is there)."""
        if self._start:  # drop what was read already, before the buffer grows
            del self._buffer[: self._start]
            self._start = 0
        chunk = os.read(self._fd, CHUNK_BYTES)
        if not chunk:
            raise EOFError
        self._buffer += chunk
