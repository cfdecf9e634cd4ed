"""
How correlate.py's reports are written: number formatting, Markdown and CSV tables, PNG figures written atomically,
strict JSON (NaN as null). No statistics here.
"""
import csv
import io
import math
import os

from uniscale.atomic import disk_errors, remove_quietly


def fmt(v, nd=3):
    """A number for a table: '-' for None/NaN, floats at nd digits (scientific when large or tiny), ints with commas."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return '-'
    if isinstance(v, float):
        return f"{v:.{max(nd - 1, 1)}e}" if v != 0 and (abs(v) >= 1e6 or abs(v) < 10 ** -nd) else f"{v:.{nd}f}"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def fmt_ci(ci, nd=3):
    return '-' if not ci else f"[{fmt(ci[0], nd)}, {fmt(ci[1], nd)}]"


def md_table(header, rows):
    return '\n'.join(['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)] +
                     ['| ' + ' | '.join(map(str, r)) + ' |' for r in rows])


def csv_text(rows, cols):
    buf = io.StringIO()
    w = csv.DictWriter(buf, cols, extrasaction='ignore')
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path):
    """PNG at path (through a temp file, so a reader never sees half of one); returns the file name. A full or
    read-only disk is one line naming the file (uniscale/atomic.py), and the temp file is removed."""
    plt = pyplot()
    fig.tight_layout()
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with disk_errors(path):
            fig.savefig(tmp, format='png', dpi=110)
            os.replace(tmp, path)
    finally:
        plt.close(fig)
        remove_quietly(tmp)
    return os.path.basename(path)


def json_safe(v):
    """NaN and infinity as null, numpy scalars as Python numbers, so summary.json is strict JSON."""
    if isinstance(v, dict):
        return {str(k): json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    if hasattr(v, 'item') and not isinstance(v, (str, bytes)):  # numpy scalar
        v = v.item()
    return None if isinstance(v, float) and not math.isfinite(v) else v
