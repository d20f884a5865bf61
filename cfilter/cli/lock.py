"""One ``cfilter apply`` per output folder at a time.

The lock is an operating-system lock on the file ``OUTDIR/.cfilter/lock``
(``flock`` on POSIX systems, ``msvcrt.locking`` on Windows), taken before
the run reads the resume record and held until it ends.  The kernel drops
it when the process ends however it ends, ``kill -9`` included, so a lock
left by a killed run never blocks the next one: the file may remain, the
lock does not.  The file holds the holder's process id, only to name it in
the message of a run that finds the folder busy.

The file is never removed: a run that removed it on leaving would let a
waiting run hold the lock of a deleted file while a third run creates and
locks a new one.
"""
import os
import sys
import time
from pathlib import Path

__all__ = ["FolderLock", "LockBusy", "LOCK_NAME"]

LOCK_NAME = "lock"
# Windows locks are mandatory (a locked byte cannot be read), so the byte
# locked there lies past the process id.
_WINDOWS_BYTE = 1 << 16


class LockBusy(Exception):
    """The folder is locked by another run, whose process id is ``pid``
    (None if it could not be read)."""

    def __init__(self, pid):
        super().__init__(pid)
        self.pid = pid


def _try_lock(fd):
    """Take the lock without waiting; False if another process holds it."""
    if sys.platform == "win32":
        import msvcrt
        os.lseek(fd, _WINDOWS_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock(fd):
    """Take the lock, waiting as long as it takes."""
    if sys.platform == "win32":
        while not _try_lock(fd):
            time.sleep(0.2)
        return
    import fcntl
    fcntl.flock(fd, fcntl.LOCK_EX)


def _read_pid(fd):
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 64).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class FolderLock:
    """The lock of one output folder's ``.cfilter`` folder.

    Parameters
    ----------
    folder : Path
        The ``OUTDIR/.cfilter`` folder (created by the caller).
    """

    def __init__(self, folder):
        self.path = Path(folder) / LOCK_NAME
        self._fd = None

    def acquire(self, wait=False, on_wait=None):
        """Take the lock.

        Parameters
        ----------
        wait : bool
            Wait for the holder to finish (True) or raise :class:`LockBusy`
            at once (False).
        on_wait : callable, optional
            Called with the holder's process id before waiting.

        Raises
        ------
        LockBusy
            If another run holds the lock and ``wait`` is False.
        OSError
            If the lock file cannot be opened.
        """
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) \
            | getattr(os, "O_BINARY", 0)
        fd = os.open(self.path, flags, 0o666)
        try:
            if not _try_lock(fd):
                holder = _read_pid(fd)
                if not wait:
                    raise LockBusy(holder)
                if on_wait is not None:
                    on_wait(holder)
                _lock(fd)
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self):
        """Let the next run in (closing the file drops the lock)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)
