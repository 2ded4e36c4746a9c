"""Getting a file's bytes on their way to disk while the rest still arrives, so that the fsync
before its rename into place finds little left to write: the SDK's downloads
(``sdk._artifacts.FileSink``) and the server's uploads (``server.blobstore.BlobWriter``)."""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Callable

#: Bytes written after which the new range is sent on its way to disk.
WRITEBACK_EVERY = 16 * 1024 * 1024
_SYNC_FILE_RANGE_WRITE = 2  # <linux/fs.h>

StartWriteback = Callable[[int, int, int], object]


def _sync_file_range() -> StartWriteback | None:
    """Linux's ``sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE)``, or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int
    return lambda fd, offset, count: function(fd, offset, count, _SYNC_FILE_RANGE_WRITE)


_START_WRITEBACK = _sync_file_range()


class Writeback:
    """Sends each :data:`WRITEBACK_EVERY` new bytes of a file on their way to disk.

    On Linux with ``sync_file_range``: the kernel starts writing the range and returns, with no
    wait and no flush of the disk's cache; the one flush comes with the final fsync. (Measured
    on this project's machine, 1 GiB in 1 MiB writes then ``fdatasync``: about 2,600 MiB/s, where
    an ``fdatasync`` every 16 MiB in a thread gave about 1,700 and none until the end about
    1,000.) Elsewhere, an ``fdatasync`` in a thread of its own. Errors are left to the caller's
    final fsync, which reports them.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._started_upto = 0
        self._thread: _SyncThread | None = None

    def advance(self, position: int) -> None:
        """The file now holds ``position`` bytes."""
        if position - self._started_upto < WRITEBACK_EVERY:
            return
        if _START_WRITEBACK is not None:
            _START_WRITEBACK(self._fd, self._started_upto, position - self._started_upto)
        else:
            if self._thread is None:
                self._thread = _SyncThread(self._fd)
            self._thread.request()
        self._started_upto = position

    def rewind(self) -> None:
        """The file was truncated to nothing."""
        self._started_upto = 0

    def stop(self) -> None:
        """Wait for a sync under way (before the descriptor is closed)."""
        if self._thread is not None:
            self._thread.stop()
            self._thread = None


class _SyncThread:
    """``fdatasync`` of one file descriptor in a thread of its own, whenever asked (requests
    made while one runs are merged)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="evospikenet-sync", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        sync = getattr(os, "fdatasync", os.fsync)
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                sync(self._fd)
            except OSError:
                return
