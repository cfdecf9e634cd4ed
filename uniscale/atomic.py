"""
Files written so that a reader never sees half of one: write a temp file beside the target, then rename it into
place (os.replace is atomic on POSIX). A run killed mid-write leaves the old file, or none, never a torn one.
Every uniscale script that writes an artifact (splits, shards' sidecars, tokenizers, eval.json, reports) uses these.

A full, read-only or forbidden disk is one line naming the file and the fix (`disk_errors`), and the temp file is
removed: a failed write never leaves .tmp files filling the disk.
"""
import errno
import json
import os
from contextlib import contextmanager

# each errno's cause and its fix; {elsewhere}: ", or write elsewhere (--setting)" where the script
# has a setting that moves what it writes (output_setting), else nothing
DISK_FIX = {
    errno.ENOSPC: 'the disk is full: free space{elsewhere}',
    errno.EDQUOT: 'over the disk quota: free space{elsewhere}',
    errno.EFBIG: 'file too large for the file system or `ulimit -f`: raise the limit{elsewhere}',
    errno.EROFS: 'the file system is read-only: make it writable{elsewhere}',
    errno.EACCES: 'no permission to write there: fix the permissions{elsewhere}',
    errno.EPERM: 'no permission to write there: fix the permissions{elsewhere}',
    errno.ENOTDIR: 'a parent of it is a file, not a folder: move that file{elsewhere}',
    errno.EEXIST: 'a file stands where a folder must be made: move it{elsewhere}',
}
# the running script's setting that moves its output, named by the advice of a failed write; each
# script's __main__ names its own (set_output_setting), e.g. '--run_dir or --out_dir'; None: none
output_setting = '--out_dir'


def set_output_setting(setting):
    """Name the running script's setting that moves what it writes (None: it has none)."""
    global output_setting
    output_setting = setting


def write_error(path, err, setting=''):
    """The one-line SystemExit for an OSError met while writing `path`; setting: the one that moves
    this file, where it is not the script's output_setting (e.g. '--compile_cache_dir')."""
    setting = setting or output_setting
    elsewhere = f", or write elsewhere ({setting})" if setting else ''
    fix = DISK_FIX.get(err.errno, 'check the folder{elsewhere}').format(elsewhere=elsewhere)
    return SystemExit(f"{path}: cannot write ({err.strerror or err}); {fix}")


@contextmanager
def disk_errors(path, setting=''):
    """An OSError inside the block becomes write_error(path, setting); the caller removes its temp
    files."""
    try:
        yield
    except OSError as e:
        raise write_error(path, e, setting) from None


def remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def write_atomic(path, data):
    """str (as UTF-8) or bytes -> path, atomically; makes the parent folder if needed."""
    tmp = f"{path}.{os.getpid()}.tmp"  # the pid keeps two writers of one path from sharing a temp file
    try:
        with disk_errors(path):
            os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
            with open(tmp, 'wb') as f:
                f.write(data.encode('utf-8') if isinstance(data, str) else data)
            os.replace(tmp, path)
    except BaseException:  # a full disk, Ctrl-C: the temp file goes too
        remove_quietly(tmp)
        raise


def write_json_atomic(path, obj, indent=1):
    write_atomic(path, json.dumps(obj, indent=indent, ensure_ascii=False) + '\n')


def read_json(path, what, fix):
    """A JSON file another run wrote -> its object; missing or corrupt is one line naming the file and `fix`."""
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: {what} not found; {fix}")
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SystemExit(f"{path}: corrupt {what} ({e}); {fix}") from None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temps(stem):
    """Remove the {stem}.{pid}.tmp files and folders of killed processes, only where that process is gone, so a run
    still writing its own is not harmed. (A pid names a process on this machine: on a shared filesystem a temp of
    another node's live process could go too, so scripts use this only for paths one job writes at a time.)"""
    import glob
    import shutil
    stem = stem.rstrip('/')
    for tmp in glob.glob(glob.escape(stem) + '.*.tmp'):
        pid = tmp[len(stem) + 1:-len('.tmp')]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True) if os.path.isdir(tmp) else remove_quietly(tmp)
            print(f"{tmp}: removed (left by process {pid}, which was killed)")
