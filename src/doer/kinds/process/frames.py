"""A process worker's pipes: records as bytes, in frames of doer's own.

Only the process kind (and the Ray kind's driver) needs this module (and
``pickle``): the console does not import it until such a worker is started.
Both ends of every pipe are doer's: the console's
(:class:`~doer.kinds.process.link.ProcessLink`), the worker's
(:mod:`~doer.kinds.process.child`) and a Ray driver's write with
:func:`send_frame` and read with :class:`FrameReader`. The
``multiprocessing.Pipe`` connections are used for their file descriptors only.

The format, byte by byte. A pipe carries frames, one after another; a frame
is a header, then a record::

    header   4 bytes: the record's length, a big-endian signed int ("!i"), for a
             record of up to 2**31 - 1 bytes;
             for a longer one, 12 bytes: FF FF FF FF (-1), then the length as
             a big-endian unsigned 8-byte int ("!Q")
    record   1 byte: its type, the index of its class in _WIRE_TYPES
             (0 Request, 1 Reply, 2 Failure, 3 Started, 4 Ended, 5 Died,
             6 Control, 7 Note); then its fields as a plain tuple, pickled
             (pickle.HIGHEST_PROTOCOL)

``Request(1, "ping")`` is ``00 00 00 NN`` (NN: the length of what follows),
``00``, then ``pickle.dumps((1, "ping", False), pickle.HIGHEST_PROTOCOL)``.

The headers are the ones ``multiprocessing.connection.Connection.send_bytes``
writes and ``recv_bytes`` reads, so either end could be a plain
``Connection`` (tests/unit/test_protocol.py checks it both ways), but nothing in
doer relies on that: the framing is written and read here.

Why not ``Connection.recv_bytes``: it reads one record with two system calls
(its header, then its bytes). When records arrive faster than they are read
(10,000 answers to a ``.repeat``), that is most of the reading's cost. A
:class:`FrameReader` reads whatever the pipe holds, up to 64 KiB, in one
call, and cuts it into records; a read that brings exactly one record (one
round trip at a time: the hot path) is returned as it came, without going
through the buffer. :func:`send_frame` writes header and record in
one ``os.write``, without the layers of checks around ``send_bytes`` (the
round trip is the console's hot path).
"""

from __future__ import annotations

import os
import pickle
import select
import struct
from collections.abc import Callable
from typing import Any, Protocol

from doer.base.protocol import (
    Control,
    Died,
    Ended,
    Failure,
    Note,
    Reply,
    Request,
    Started,
    UnreadableRequest,
)

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


class Descriptor(Protocol):
    """One end of a pipe: a ``multiprocessing`` ``Connection``, or anything with a
    file descriptor (a subinterpreter's end is a bare ``os.pipe`` descriptor)."""

    def fileno(self) -> int: ...


class PipeEnd:
    """One end of an ``os.pipe``, by its number (a subinterpreter worker's pipes: their
    numbers cross into the interpreter, where a ``Connection`` could not). Closed
    once, by whoever owns it: the reply reader and ``stop()`` may both try."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.closed = False

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._fd)


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
#: A record this long or longer takes the long header.
LONG_FROM = 1 << 31
_SHORT = struct.Struct("!i")
_LONG = struct.Struct("!Q")
_LONG_MARK = _SHORT.pack(-1)


def frame_header(size: int) -> bytes:
    """The header of a record of ``size`` bytes (the module's docstring says how)."""
    return _SHORT.pack(size) if size < LONG_FROM else _LONG_MARK + _LONG.pack(size)


def send_frame(connection: Descriptor, data: bytes) -> None:
    """Write ``data`` as one frame.

    Raises:
        OSError: the pipe failed (its reader has gone: BrokenPipeError).
    """
    fd = connection.fileno()
    if len(data) >= LONG_FROM:  # rare: written apart, not copied after its header
        _write_all(fd, frame_header(len(data)))
        _write_all(fd, data)
        return
    frame = _SHORT.pack(len(data)) + data
    written = os.write(fd, frame)
    if written < len(frame):  # a pipe takes a big record in parts
        _write_all(fd, memoryview(frame)[written:])


def send_frames(connection: Descriptor, records: list[bytes]) -> None:
    """Write ``records`` as :func:`send_frame` would, one after another, in one write.

    Raises:
        OSError: as :func:`send_frame`.
    """
    if any(len(data) >= LONG_FROM for data in records):
        for data in records:
            send_frame(connection, data)
        return
    _write_all(connection.fileno(), b"".join(_SHORT.pack(len(data)) + data for data in records))


def _write_all(fd: int, data: bytes | memoryview) -> None:
    rest = memoryview(data)
    while rest:
        rest = rest[os.write(fd, rest) :]


class FrameReader:
    """The reading end of a one-way pipe of frames (:func:`send_frame` writes them).

    Not thread-safe: one reader at a time (as :mod:`doer.client.replies` arranges).
    """

    def __init__(self, connection: Descriptor) -> None:
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
        if not self._buffer:  # nothing kept from before: read straight from the pipe
            chunk = os.read(self._fd, CHUNK_BYTES)
            if not chunk:
                raise EOFError
            # One round trip at a time, a read is exactly one record: the hot path
            # returns it without going through the buffer.
            header = _SHORT.size
            if len(chunk) > header and _SHORT.unpack_from(chunk)[0] == len(chunk) - header:
                return chunk[header:]
            self._buffer += chunk
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


# --- the two ends, as a worker and a link use them ------------------------------------


def request_reader(requests: Descriptor) -> Callable[[], Request]:
    """A worker's inbox on the request pipe: each call, the next request.

    Requests sent together are read together. One that cannot be unpickled here
    raises :class:`~doer.base.protocol.UnreadableRequest` (the Doer answers it
    with a failure and goes on); the pipe's end raises ``EOFError``.
    """
    reader = FrameReader(requests)

    def receive() -> Request:
        data = reader.recv_bytes()
        try:
            request: Request = decode(data)
        except Exception as exc:
            raise UnreadableRequest(
                f"the request could not be read here: {type(exc).__name__}: {exc}"
            ) from None
        return request

    return receive


def record_sender(responses: Descriptor) -> Callable[[Any], None]:
    """A worker's outbox on the response pipe: each call sends one record."""

    def send(record: Any) -> None:
        send_frame(responses, encode(record))

    return send


class FramedPipes:
    """The console's end of a worker reached by two pipes of frames: what the process
    kind's link and the interpreter kind's share (``send``, ``send_many`` and
    ``receive`` of :class:`~doer.kinds.Link`). The link sets ``_requests`` (the
    request pipe's writing end) and ``_answers`` (a reader of the response pipe)."""

    _requests: Descriptor
    _answers: FrameReader
    #: The size of the last record ``receive()`` read, pickled.
    received_bytes: int | None = None

    def send(self, request: Request) -> int:
        data = encode(request)
        send_frame(self._requests, data)
        return len(data)

    def send_many(self, requests: list[Request]) -> list[int | None]:
        """All pickled first (one that does not pickle: none is sent), then one write."""
        records = [encode(request) for request in requests]
        send_frames(self._requests, records)
        return [len(data) for data in records]

    def receive(self, timeout: float | None = None) -> Any:
        if timeout is not None and not self._answers.poll(timeout):
            raise TimeoutError
        data = self._answers.recv_bytes()
        self.received_bytes = len(data)
        return decode(data)
