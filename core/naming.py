"""Names: blob names for inputs, output names, safe local paths, run ids.

Two rules the original tutorial broke and this module keeps:

* every input gets its own blob name, even when base names repeat
  (``a/x.txt`` and ``b/x.txt`` stay ``a/x.txt`` and ``b/x.txt``);
* a blob name never maps to a local path outside the download directory.

And one the tutorial never met: a file name only becomes a blob name if it
survives the trip (``blob_name_problem`` says why not, ``printable`` shows
any name safely in a one-line message).
"""

from __future__ import annotations

import os
import secrets
import time
import unicodedata
from pathlib import Path
from typing import Sequence

from .errors import StorageError

__all__ = ["MAX_BLOB_NAME", "MAX_SEGMENTS", "MAX_SEGMENT_BYTES", "blob_name_problem",
           "input_blob_names", "new_run_id", "printable", "safe_local_path"]

#: Blob Storage's limit on a blob name, in characters (counted as UTF-16
#: code units, as the service counts them: an emoji outside the BMP is 2).
MAX_BLOB_NAME = 1024
#: path segments a blob name may have (accounts without a hierarchical namespace)
MAX_SEGMENTS = 254
#: bytes of one file name on the local and node file systems (Linux NAME_MAX)
MAX_SEGMENT_BYTES = 255


def input_blob_names(paths: Sequence[Path]) -> list[str]:
    """Blob names for input files: their paths relative to the deepest
    directory that holds them all, with ``/`` separators.

    Inputs in one folder keep their base names (``taskdata1.txt``); inputs
    from several folders keep just enough of their paths to stay unique.

    Args:
        paths: distinct files (any mix of relative and absolute paths).
    Returns:
        One name per path, in order; all distinct, none with ``..``.
    """
    resolved = [Path(os.path.abspath(p)) for p in paths]
    if not resolved:
        return []
    root = Path(os.path.commonpath([p.parent for p in resolved]))
    return [p.relative_to(root).as_posix() for p in resolved]


def blob_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a blob name that round-trips through Blob
    Storage (Azure and Azurite) and back to a local file, or None if it can.

    Refused: an empty name or segment, ``.``/``..``; bytes that are not
    UTF-8 (``surrogateescape`` code points, as ``os.fsdecode`` gives them);
    control characters (C0, DEL, C1), Unicode noncharacters and private-use
    characters (Blob Storage does not allow them; Azurite fails listings
    with most of them); a backslash (Blob Storage turns it into ``/``); a
    segment ending in ``.`` (Azure drops the dot); more than
    ``MAX_BLOB_NAME`` characters or ``MAX_SEGMENTS`` segments; a segment
    longer than ``MAX_SEGMENT_BYTES`` bytes of UTF-8 (no file system here
    can hold it).

    Returns:
        A lower-case clause for a message ("it has ..."), or None.
    """
    if not name:
        return "the name is empty"
    for ch in name:
        why = _bad_char(ch)
        if why:
            return why
    if "\\" in name:
        return ("a backslash cannot be kept in a blob name (Blob Storage turns it "
                "into '/')")
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return "it is not a plain relative path"
    if any(p.endswith(".") for p in parts):
        return ("a file or folder name ending in '.' cannot be kept in a blob name "
                "(Azure Blob Storage drops the trailing dot)")
    length = len(name.encode("utf-16-le")) // 2
    if length > MAX_BLOB_NAME:
        return (f"its blob name would be {length:,} characters long; Blob Storage "
                f"allows {MAX_BLOB_NAME:,}")
    if len(parts) > MAX_SEGMENTS:
        return (f"its blob name would have {len(parts)} path segments; Blob Storage "
                f"allows {MAX_SEGMENTS}")
    longest = max(len(p.encode("utf-8")) for p in parts)
    if longest > MAX_SEGMENT_BYTES:
        return (f"a file name of {longest} bytes is longer than file systems allow "
                f"({MAX_SEGMENT_BYTES})")
    return None


def _bad_char(ch: str) -> str | None:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return (f"it has bytes that are not UTF-8 ({printable(ch)}), and a blob name "
                "must be Unicode text")
    category = unicodedata.category(ch)
    if category == "Cs":
        return (f"it has an unpaired surrogate ({printable(ch)}), and a blob name must "
                "be Unicode text")
    if category == "Cc":
        return (f"it has the control character {printable(ch)}, which blob names "
                "cannot hold")
    if _noncharacter(code):
        return f"it has the Unicode noncharacter U+{code:04X}, which blob names cannot hold"
    if category == "Co":
        return (f"it has the private-use character U+{code:04X}, which blob names "
                "cannot hold")
    return None


def _noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


#: shown escaped: they would move the cursor, end the line or reorder the text
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                           "\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` safe for a one-line message on any terminal.

    Bytes that were not UTF-8 (``surrogateescape``) show as ``\\xNN``;
    control characters, line and paragraph separators, unpaired surrogates,
    private-use characters, noncharacters and bidirectional controls show as
    Python escapes (``\\x1b``, ``\\u2028``); everything else (accents,
    emoji, combining marks, spaces) is kept as it is.
    """
    if text.isprintable():  # the common case: nothing to escape
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif (unicodedata.category(ch) in ("Cc", "Cs", "Co", "Zl", "Zp")
              or ch in _BIDI_CONTROLS or _noncharacter(code)):
            out.append(ascii(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)


def safe_local_path(directory: Path, blob_name: str) -> Path:
    """Where a blob named ``blob_name`` goes below ``directory``.

    Raises:
        StorageError: the name is empty, absolute, has a ``..`` part, a NUL
            or a backslash, or otherwise resolves outside ``directory``.
    """
    parts = blob_name.split("/")
    if (not blob_name or blob_name.startswith("/") or "\\" in blob_name
            or "\0" in blob_name or any(p in ("", ".", "..") for p in parts)):
        raise StorageError(f"refusing to download blob {blob_name!r}: its name "
                           "is not a safe relative path")
    base = Path(os.path.abspath(directory))
    target = Path(os.path.abspath(base.joinpath(*parts)))
    if base not in target.parents:
        raise StorageError(f"refusing to download blob {blob_name!r}: it would "
                           f"land outside {directory}")
    return target


def new_run_id() -> str:
    """A short unique id for one run: ``20261125-143100-3f9a1c``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)
