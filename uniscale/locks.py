"""
One writer at a time: a run folder, a shard folder, a tokenizer folder and a sweep each hold a lock while they write,
so a second writer refuses in one line instead of interleaving logs or training a run twice.

    with locks.hold(run_dir, 'run') as lock:  # {run_dir}/.lock, and .lock.owner naming the holder
        ...
        lock.check()          # at each log line: stop if the lock file was deleted or replaced

The lock is filelock's (an OS file lock: released by the kernel when the holder dies, so a killed job never leaves
a lock that must be deleted by hand). The owner file only says who holds it, for the refusal's message.
A lock file deleted by hand while held is no lock: a second writer takes a new file of that name.
So every refusal says never to delete a held lock, and a long writer calls check() (a stat) at
its natural steps (train.py: each log line).
"""
import json
import os
import socket
import sys
import time
from contextlib import contextmanager

from filelock import FileLock, Timeout

LOCK_NAME = '.lock'


def lock_path(folder, name=LOCK_NAME):
    return os.path.join(folder, name)


def holder(folder, name=LOCK_NAME):
    """'pid N on host H since T (cmd)' of the process holding the folder's lock, as far as its owner file says."""
    try:
        with open(lock_path(folder, name) + '.owner', encoding='utf-8') as f:
            o = json.load(f)
        return f"pid {o['pid']} on host {o['host']} since {o['since']} ({o['cmd']})"
    except (OSError, ValueError, KeyError, TypeError):
        return 'another process (its owner file is unreadable)'


NEVER_DELETE = "never delete a held .lock file by hand (the OS releases a killed holder's)"
HELD = []  # the Held of every lock this process holds now, for check_held


def file_identity(path):
    """(device, inode) of the file at path, None when there is none (a file deleted and made again
    is another file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class Held:
    """What hold() yields: check() stops the holder, in one line, once its lock file is gone or
    is another file (a hand deleted it; another process may hold the new one and write the folder
    too)."""

    def __init__(self, folder, what, path):
        self.folder, self.what, self.path = folder, what, path
        self.identity = file_identity(path)

    def check(self):
        if file_identity(self.path) != self.identity:
            raise SystemExit(
                f"{self.path}: the lock of this {self.what} was deleted or replaced while this "
                f"process (pid {os.getpid()}) held it, so another process may be writing "
                f"{self.folder} too; stopped here. Once no other process writes it, run this "
                f"again; {NEVER_DELETE}")


def check_held():
    """check() every lock this process holds: one line for a long writer (prepare.py's encoding, the
    sweep's jobs) that does not keep hold()'s Held at hand."""
    for held in list(HELD):
        held.check()


@contextmanager
def hold(folder, what, name=LOCK_NAME, wait_s=0):
    """Hold the folder's lock for the block, yielding a Held (its check() for long writers); a
    folder another process holds (still, after wait_s seconds) is a one-line SystemExit naming it.
    `name` gives one folder several locks (e.g. a run's eval files beside its training); wait_s > 0
    suits locks held for milliseconds (one file's read-modify-write)."""
    from uniscale.atomic import disk_errors, remove_quietly, write_json_atomic
    with disk_errors(folder):
        os.makedirs(folder, exist_ok=True)
    path = lock_path(folder, name)
    lock = FileLock(path, timeout=wait_s)
    with disk_errors(path):  # a read-only folder is one line; Timeout is an OSError too, so it is caught first
        try:
            lock.acquire()
        except Timeout:
            raise SystemExit(f"{folder}: this {what} is being written by {holder(folder, name)}; wait for it to "
                             f"finish or stop it (two writers would mix their files); "
                             f"{NEVER_DELETE}") from None
    held = None
    try:
        write_json_atomic(path + '.owner', {
            'pid': os.getpid(), 'host': socket.gethostname(), 'since': time.strftime('%Y-%m-%d %H:%M:%S'),
            'cmd': ' '.join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[:200]})
        held = Held(folder, what, path)
        HELD.append(held)
        yield held
    finally:
        if held in HELD:
            HELD.remove(held)
        remove_quietly(path + '.owner')
        lock.release()
