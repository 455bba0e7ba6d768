"""Top-N words task: runs on a compute node and counts the words of one text file.

    python3 task.py --filepath F --numwords N [--ignore-case] [--output-blob NAME]
                    [--workers N]

Shipped to nodes as this one file (standard library only, Python 3.8+). It writes
``<stem>_OUTPUT<ext>`` next to F and uploads it with one HTTP PUT (retried on connection
errors, timeouts, 408, 429 and 5xx) when ``TOPWORDS_OUTPUT_URL`` holds the URL of that
one blob with a write SAS (what topwords gives each task), or else when
``TOPWORDS_OUTPUT_SAS_URL`` holds a container URL with a write SAS (the blob name is
then appended). Exit codes: 0 ok, 1 runtime failure, 2 usage.

Counting rules:
1. F is UTF-8 (invalid bytes decode to U+FFFD); one BOM at the very start of the
   file is dropped. It is read in binary chunks: memory grows with the
   vocabulary, never with the file size.
2. Tokens are exactly ``str.split()`` of the whole decoded text (any Unicode
   whitespace separates), whatever the chunk boundaries.
3. ASCII punctuation and Unicode punctuation (category P*) are stripped from both
   ends of a token; inner punctuation stays (``don't``). Empty results are dropped.
4. Case-sensitive unless ``--ignore-case`` (``str.casefold()`` after step 3).
5. Order: count descending, then word ascending by code point.

How it is fast: raw byte tokens are counted (``bytes.split()`` on large chunks) and
the rules are applied once per distinct token afterwards (see normalize_raw_counts).
A file of MIN_PARALLEL_SIZE bytes or more is cut at ASCII whitespace into pieces
that ``--workers`` processes (default: the usable CPUs) count in parallel.

Blob name: ``--output-blob``, else the output path relative to the current
directory (``/`` separators) when inside it, else its base name. The SAS is never
printed: anything after a ``?`` is redacted from messages.
"""
from __future__ import annotations

import argparse
import codecs
import heapq
import itertools
import os
import posixpath
import re
import stat
import string
import sys
import time
import unicodedata
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping  # no typing: it costs ~2 ms per task

CHUNK_SIZE = 1 << 20
PIECE_SIZE = 4 << 20          # bytes per work item when several processes count
MIN_PARALLEL_SIZE = 8 << 20   # smaller files are counted by this process alone
BOM = codecs.BOM_UTF8
SAS_ENV = "TOPWORDS_OUTPUT_SAS_URL"  # a container URL (+ blob name)
OUTPUT_URL_ENV = "TOPWORDS_OUTPUT_URL"  # the URL of the one output blob
API_VERSION = "2021-08-06"
ENV_FIELDS = (("Node: ", "AZ_BATCH_NODE_ID"), ("Task: ", "AZ_BATCH_TASK_ID"),
              ("Job:  ", "AZ_BATCH_JOB_ID"), ("Pool: ", "AZ_BATCH_POOL_ID"))
RULE = "-" * 30
_ASCII_PUNCT = frozenset(string.punctuation)
_ASCII_PUNCT_BYTES = string.punctuation.encode("ascii")
_punct_cache: dict[str, bool] = {}  # filled once per distinct end character
_ASCII_SPACE = re.compile(rb"[ \t\n\r\x0b\x0c]")  # exactly what bytes.split() splits on
_OTHER_SPACE = re.compile(r"[^\S\n]")  # re's \s is str.isspace(), as str.split() uses
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


class TaskError(Exception):
    """An expected runtime failure: reported as one line, exit code 1."""


def is_punctuation(ch: str) -> bool:
    """True for ASCII punctuation and any Unicode category P* character."""
    hit = _punct_cache.get(ch)
    if hit is None:
        hit = _punct_cache[ch] = (ch in _ASCII_PUNCT
                                  or unicodedata.category(ch).startswith("P"))
    return hit


def _token_lists(stream, chunk_size: int = CHUNK_SIZE) -> Iterator[list[str]]:
    """Yield lists of whitespace-split tokens, never splitting a token."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    carry, at_start, final = "", True, False
    while not final:
        data = stream.read(chunk_size)
        final = not data
        text = decoder.decode(data, final)
        if at_start and text:
            at_start = False
            if text[0] == "\ufeff":  # BOM
                text = text[1:]
        if not text:
            continue
        text = carry + text
        tokens = text.split()
        # A token touching the end of this text may continue in the next one.
        carry = "" if text[-1].isspace() else tokens.pop()
        yield tokens
    if carry:
        yield [carry]


def iter_raw_tokens(stream, chunk_size: int = CHUNK_SIZE) -> Iterator[str]:
    """Yield the tokens of a binary stream exactly as ``text.split()`` would."""
    for tokens in _token_lists(stream, chunk_size):
        yield from tokens


def normalize_token(token: str, ignore_case: bool = False) -> str:
    """Strip punctuation from both ends (and casefold); may return ``""``."""
    start, end = 0, len(token)
    while start < end and is_punctuation(token[start]):
        start += 1
    while end > start and is_punctuation(token[end - 1]):
        end -= 1
    word = token[start:end]
    return word.casefold() if ignore_case else word


def normalize_counts(raw: Mapping[str, int], ignore_case: bool = False) -> Counter:
    """Merge the counts of raw tokens into counts of words."""
    words: Counter = Counter()
    for token, n in raw.items():
        word = normalize_token(token, ignore_case)
        if word:
            words[word] += n
    return words


def _count_reference(stream, ignore_case: bool = False,
                     chunk_size: int = CHUNK_SIZE) -> Counter:
    """The rules the simple way (decode, ``str.split()``, strip per token): the
    fast counter must always give the same counts."""
    raw: Counter = Counter()
    for tokens in _token_lists(stream, chunk_size):
        raw.update(tokens)
    return normalize_counts(raw, ignore_case)


# The fast counter counts raw byte tokens (bytes.split(): ASCII whitespace only; ASCII
# punctuation stripped from their ends) and applies the rules afterwards, once per
# DISTINCT token. That is exact because UTF-8 decoding restarts at every ASCII byte
# (an ASCII byte is never inside a multi-byte sequence, and a truncated one before it
# becomes U+FFFD either way), so decoding token by token equals decoding the whole
# text; a decoded token that still holds Unicode whitespace (U+00A0, U+2009, \x1c ...)
# is then split again with str.split().

def _read_chunks(stream, chunk_size: int, limit: int | None = None) -> Iterator[bytes]:
    """Successive reads of at most ``chunk_size`` bytes (and ``limit`` in all)."""
    while limit is None or limit > 0:
        data = stream.read(chunk_size if limit is None else min(chunk_size, limit))
        if not data:
            return
        if limit is not None:
            limit -= len(data)
        yield data


def _without_bom(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks of a whole file, minus one UTF-8 BOM at its very start."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= len(BOM):
            break
    head = head[len(BOM):] if head.startswith(BOM) else head
    if head:
        yield head
    yield from chunks


def _count_raw_chunks(chunks: Iterable[bytes], counts: Counter) -> None:
    """Add the ASCII-whitespace-split tokens of the concatenated chunks to counts,
    ASCII punctuation already stripped from their ends (fewer distinct keys: the
    rules strip it anyway, and an ASCII byte never belongs to a multi-byte
    sequence, so stripping bytes before decoding gives the same words)."""
    parts: list[bytes] = []  # a token that may continue in the next chunk
    update, strip, punct = counts.update, bytes.strip, itertools.repeat(_ASCII_PUNCT_BYTES)
    for chunk in chunks:
        tokens = chunk.split()
        glued = bool(parts and tokens) and not chunk[:1].isspace()
        if parts and not glued:
            counts[strip(b"".join(parts), _ASCII_PUNCT_BYTES)] += 1
            parts = []
        if not tokens:
            continue
        tail = None if chunk[-1:].isspace() else tokens.pop()
        if glued:
            if not tokens:  # the whole chunk continues the carried token
                parts.append(tail)
                continue
            parts.append(tokens[0])
            tokens[0] = b"".join(parts)
            parts = []
        update(map(strip, tokens, punct))
        if tail is not None:
            parts = [tail]
    if parts:
        counts[strip(b"".join(parts), _ASCII_PUNCT_BYTES)] += 1


def count_raw_stream(stream, chunk_size: int = CHUNK_SIZE) -> Counter:
    """Counts of the raw byte tokens (``bytes.split()``, ASCII punctuation stripped
    from their ends) of a whole binary file."""
    counts: Counter = Counter()
    _count_raw_chunks(_without_bom(_read_chunks(stream, chunk_size)), counts)
    return counts


def count_raw_range(stream, start: int, end: int, chunk_size: int = CHUNK_SIZE,
                    counts: Counter | None = None) -> Counter:
    """Add the raw byte tokens (as count_raw_stream) of bytes ``[start, end)`` of a
    seekable stream to ``counts``; both ends must be a file end or an ASCII
    whitespace byte."""
    counts = Counter() if counts is None else counts
    stream.seek(start)
    _count_raw_chunks(_read_chunks(stream, chunk_size, end - start), counts)
    return counts


def _space_at_or_after(stream, offset: int, size: int, window: int) -> int:
    """Offset of the first ASCII whitespace byte at or after ``offset``, else size."""
    stream.seek(offset)
    while offset < size:
        data = stream.read(window)
        if not data:
            break
        found = _ASCII_SPACE.search(data)
        if found:
            return offset + found.start()
        offset += len(data)
    return size


def split_ranges(stream, size: int, offsets: Iterable[int], start: int = 0,
                 window: int = 1 << 16) -> list[tuple[int, int]]:
    """Cut bytes ``[start, size)`` of a seekable stream into ranges that no token
    crosses: one cut at the first ASCII whitespace byte at or after each offset.
    Linear even when a giant token swallows several offsets."""
    cuts = [start]
    for offset in offsets:
        if offset <= cuts[-1] and len(cuts) > 1:
            continue  # a token longer than a piece: its end is already a cut
        cut = _space_at_or_after(stream, max(offset, cuts[-1]), size, window)
        if cut >= size:
            break
        if cut > cuts[-1]:
            cuts.append(cut)
    if size > cuts[-1]:
        cuts.append(size)
    return list(zip(cuts, cuts[1:]))


def _split_other_spaces(text: str, counts: list[int]) -> tuple[list[str], list[int]]:
    """The lines (tokens) of text; those holding non-ASCII whitespace are split
    into their words, appended at the end with the token's count."""
    lines = text.split("\n")
    line, pos, hit = 0, 0, []
    for match in _OTHER_SPACE.finditer(text):
        line += text.count("\n", pos, match.start())
        pos = match.start()
        if not hit or hit[-1] != line:
            hit.append(line)
    for index in hit:
        words = lines[index].split()
        lines[index] = ""  # dropped like any empty word
        lines += words
        counts += [counts[index]] * len(words)
    return lines, counts


def _add_words(totals: dict[str, int], words: Iterable[str], counts: Iterable[int]) -> None:
    get = totals.get
    for word, n in zip(words, counts):
        totals[word] = get(word, 0) + n


def _add_token_batch(totals: dict[str, int], tokens: list[bytes], counts: list[int],
                     ignore_case: bool) -> None:
    """Add the words of raw tokens (with their counts) to totals."""
    text = b"\n".join(tokens).decode("utf-8", "replace")  # one line per token
    if _OTHER_SPACE.search(text):
        lines, counts = _split_other_spaces(text, counts)
    else:
        lines = text.split("\n") if counts else []
    if len(lines) != len(counts):
        raise ValueError("raw tokens must not contain ASCII whitespace")
    punct = "".join(_ASCII_PUNCT.union(
        ch for ch in set(_NON_ASCII.findall(text)) if is_punctuation(ch)))
    words = map(str.strip, lines, itertools.repeat(punct))
    _add_words(totals, map(str.casefold, words) if ignore_case else words, counts)


def _word_totals(raw: Mapping[bytes, int], ignore_case: bool, consume: bool = False,
                 batch: int = 1 << 15) -> dict[str, int]:
    """Word totals of raw token counts, a batch of distinct tokens at a time (so the
    decoded copies stay small); ``consume`` empties ``raw`` (a Counter) at once
    and drops each batch's tokens when done, so their memory serves the words."""
    tokens, counts = list(raw), list(raw.values())
    if consume:
        raw.clear()  # type: ignore[attr-defined]
    totals: dict[str, int] = {}
    while tokens:  # from the end, so that a done batch is cut off cheaply
        _add_token_batch(totals, tokens[-batch:], counts[-batch:], ignore_case)
        del tokens[-batch:], counts[-batch:]
    totals.pop("", None)
    return totals


def normalize_raw_counts(raw: Mapping[bytes, int], ignore_case: bool = False) -> Counter:
    """Apply the rules to counts of raw byte tokens (as ``bytes.split()`` gives:
    no ASCII whitespace inside); the work is per distinct token, mostly in bulk."""
    return Counter(_word_totals(raw, ignore_case))


def count_stream(stream, ignore_case: bool = False,
                 chunk_size: int = CHUNK_SIZE) -> Counter:
    """Count the words of a binary stream (see the module rules), in this process."""
    return Counter(_word_totals(count_raw_stream(stream, chunk_size), ignore_case, True))


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _count_pieces(stream, pieces, next_piece, chunk_size: int,
                  ignore_case: bool) -> dict[str, int]:
    """Take pieces from the shared index until none is left; their word totals."""
    raw: Counter = Counter()
    while True:
        with next_piece.get_lock():
            index = next_piece.value
            next_piece.value = index + 1
        if index >= len(pieces):
            return _word_totals(raw, ignore_case, consume=True)
        count_raw_range(stream, pieces[index][0], pieces[index][1], chunk_size, raw)


def _piece_worker(path, pieces, next_piece, chunk_size, ignore_case, conn) -> None:
    """A child process: count pieces with its own file handle, send the result
    as one string of words and a list of counts (quick to pickle; words never
    hold a newline)."""
    try:
        with open(path, "rb") as stream:
            totals = _count_pieces(stream, pieces, next_piece, chunk_size, ignore_case)
        result = (True, ("\n".join(totals), list(totals.values())))
    except OSError as exc:
        result = (False, exc)
    except Exception as exc:  # a bug: the parent re-raises it with this text
        result = (False, RuntimeError("%s: %s" % (type(exc).__name__, exc)))
    conn.send(result)
    conn.close()


def _count_parallel(stream, path, pieces, ignore_case: bool, chunk_size: int,
                    workers: int, start_method: str | None) -> Counter:
    """Count the pieces with this process and ``workers - 1`` children; each takes
    the next piece when done with one, so a busy core slows nothing but itself."""
    import multiprocessing  # only large files need it

    if start_method is None:
        start_method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(start_method)
    next_piece = context.Value("l", 0)
    children = []
    try:
        for _ in range(workers - 1):
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(target=_piece_worker, daemon=True, args=(
                path, pieces, next_piece, chunk_size, ignore_case, sender))
            child.start()
            sender.close()
            children.append((child, receiver))
        totals = _count_pieces(stream, pieces, next_piece, chunk_size, ignore_case)
        for child, receiver in children:
            try:
                ok, result = receiver.recv()
            except EOFError:
                child.join()
                raise TaskError("a counting process died (exit code %s)" % child.exitcode)
            if not ok:
                raise result
            _add_words(totals, result[0].split("\n"), result[1])
        return Counter(totals)
    finally:
        for child, receiver in children:
            receiver.close()
            if child.is_alive():
                child.terminate()
            child.join()


def count_words(path, ignore_case: bool = False, chunk_size: int = CHUNK_SIZE, *,
                workers: int | None = None, piece_size: int = PIECE_SIZE,
                min_parallel_size: int = MIN_PARALLEL_SIZE,
                start_method: str | None = None) -> Counter:
    """Count the words of the file at ``path``. Raises OSError (or TaskError when a
    counting process dies).

    A regular file of at least ``min_parallel_size`` bytes is cut into pieces of
    about ``piece_size`` bytes, counted by ``workers`` processes (default: the
    usable CPUs; ``start_method`` default: fork where available, else spawn).
    """
    workers = usable_cpus() if workers is None else workers
    with open(path, "rb") as stream:
        try:
            info = os.fstat(stream.fileno())
        except (AttributeError, OSError):  # not a real file: stream it
            info = None
        size = info.st_size if info else 0
        if workers < 2 or not info or not stat.S_ISREG(info.st_mode) \
                or size < max(min_parallel_size, 1):
            return count_stream(stream, ignore_case, chunk_size)
        start = len(BOM) if stream.read(len(BOM)) == BOM else 0
        offsets = range(start + max(piece_size, 1), size, max(piece_size, 1))
        pieces = split_ranges(stream, size, offsets, start, min(chunk_size, 1 << 16))
        if len(pieces) < 2:
            stream.seek(0)
            return count_stream(stream, ignore_case, chunk_size)
        return _count_parallel(stream, path, pieces, ignore_case, chunk_size,
                               min(workers, len(pieces)), start_method)


def top_words(counts: Mapping[str, int], n: int) -> list[tuple[str, int]]:
    """The first ``n`` of (word, count), count descending then word ascending."""
    items: Iterable[tuple[str, int]] = counts.items()
    if 0 < n < len(counts) // 4:  # only words as frequent as the n-th count can make it
        nth = heapq.nlargest(n, counts.values())[-1]
        items = [(word, count) for word, count in items if count >= nth]
    return heapq.nsmallest(max(n, 0), items, key=lambda wc: (-wc[1], wc[0]))


def format_report(top: Iterable[tuple[str, int]],
                  env: Mapping[str, str] | None = None) -> str:
    """The output file's text; empty or missing AZ_BATCH_* values show ``-``."""
    env = os.environ if env is None else env
    lines = ["Word\tCount", RULE]
    lines += ["%s:\t%d" % (word, count) for word, count in top]
    lines.append(RULE)
    lines += [label + (env.get(name) or "-") for label, name in ENV_FIELDS]
    return "\n".join(lines) + "\n"


def output_path_for(path) -> str:
    """``<stem>_OUTPUT<ext>`` in the directory of ``path``."""
    folder, name = os.path.split(os.fspath(path))
    stem, ext = os.path.splitext(name)
    return os.path.join(folder, stem + "_OUTPUT" + ext)


# -- the contract with the planner (topwords.workloads.topn) ------------------------
# One definition of what passes between the planner and this script: the
# planner builds its command lines and names its blobs with these, and reads
# the results back with parse_report; fast tests check both halves against it.

#: the corpus-wide result, written by the reduce
GLOBAL_OUTPUT = "GLOBAL_OUTPUT.txt"
#: the reduce's manifest, a resource file next to the counts files
MANIFEST = "manifest.json"


def result_blob_name(blob_name: str) -> str:
    """The blob a result of the input blob ``blob_name`` gets: as
    :func:`output_path_for` names the file (``a/x.txt`` -> ``a/x_OUTPUT.txt``,
    ``..a`` -> ``..a_OUTPUT``), ``/``-separated."""
    folder, name = posixpath.split(blob_name)
    stem, ext = posixpath.splitext(name)
    return posixpath.join(folder, stem + "_OUTPUT" + ext)


def map_file_args(filepath: str, numwords: int, counts_blob: str,
                  ignore_case: bool = False) -> list[str]:
    """Arguments that count the file ``filepath`` (as ``--name=value``: a
    name starting with ``-`` is never taken for an option)."""
    args = ["--filepath=" + filepath, "--numwords=%d" % numwords, "--counts-blob=" + counts_blob]
    return args + (["--ignore-case"] if ignore_case else [])


def map_range_args(url_env: str, start: int, end: int, counts_blob: str,
                   ignore_case: bool = False) -> list[str]:
    """Arguments that count bytes ``[start, end)`` of the blob whose read URL
    is in ``$url_env``."""
    args = ["--url-env=" + url_env, "--range=%d:%d" % (start, end),
            "--counts-blob=" + counts_blob]
    return args + (["--ignore-case"] if ignore_case else [])


def reduce_args(manifest: str = MANIFEST) -> list[str]:
    """Arguments that merge the counts the manifest names."""
    return ["reduce", "--manifest=" + manifest]


class ReportFormatError(ValueError):
    """A text is not a result file of this script (see :func:`format_report`)."""


def parse_report(text: str) -> list[tuple[str, int]]:
    """The ``(word, count)`` rows of :func:`format_report`'s text, in order.
    Words never hold whitespace and never end with ``:``, so
    ``word:<TAB>count`` parses unambiguously. Raises ReportFormatError."""
    lines = text.split("\n")
    if len(lines) < 3 or lines[0] != "Word\tCount" or lines[1] != RULE:
        raise ReportFormatError("not a topwords result file (bad header)")
    rows = []
    for line in lines[2:]:
        if line == RULE:
            return rows
        word, sep, count = line.rpartition(":\t")
        if not sep or not word or not count.isdigit():
            raise ReportFormatError("not a topwords result line: %r" % line[:60])
        rows.append((word, int(count)))
    raise ReportFormatError("not a topwords result file (no closing rule)")


def default_blob_name(path, cwd=None) -> str:
    """``path`` relative to ``cwd`` with ``/`` when inside it, else its base name."""
    name = os.path.basename(os.fspath(path))
    full = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))), name)
    try:
        rel = os.path.relpath(full, os.path.realpath(cwd or os.getcwd()))
    except ValueError:  # another drive on Windows
        return name
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return name
    return rel.replace(os.sep, "/")


def redact(text: str) -> str:
    """Remove anything that could be a SAS from a message."""
    text = re.sub(r"\?\S*", "?<redacted>", str(text))
    return re.sub(r"(?i)sig=[^&\s]*", "sig=<redacted>", text)


def blob_url(sas_url: str, blob_name: str | None = None) -> str:
    """``<container>/<quoted blob name>?<sas>`` for a container SAS URL, or a
    blob SAS URL as it is (``blob_name`` None). Raises TaskError."""
    parts = urllib.parse.urlsplit(sas_url)
    try:
        parts.port  # validates it
    except ValueError:
        parts = parts._replace(scheme="")
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.query:
        raise TaskError("the upload URL must be an http(s) %s URL with a SAS query string"
                        % ("container" if blob_name is not None else "blob"))
    path = parts.path
    if blob_name is not None:
        path = path.rstrip("/") + "/" + urllib.parse.quote(blob_name, safe="/")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _send(method: str, url: str, body: bytes | None, headers: Mapping[str, str],
          timeout: float):
    """One HTTP request on its own connection; the response (any status),
    open for reading. http.client, not urllib.request: a task is one short
    process, and urllib.request's imports cost it ~6 ms more."""
    import http.client

    parts = urllib.parse.urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else \
        http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=timeout)
    target = parts.path + ("?" + parts.query if parts.query else "")
    connection.request(method, target, body=body, headers=dict(headers))
    return connection.getresponse()


def upload(path, sas_url: str, blob_name: str | None = None, *, attempts: int = 5,
           base_delay: float = 0.5, max_delay: float = 8.0,
           timeout: float = 30.0) -> None:
    """PUT the file as a block blob: to ``blob_name`` in the container of a
    container SAS URL, or (``blob_name`` None) to the blob of a blob SAS URL.
    Retries transient failures. Raises TaskError."""
    import base64  # the upload's modules load only when there is something to upload
    import hashlib
    import http.client

    url = blob_url(sas_url, blob_name)
    label = blob_name if blob_name is not None else \
        urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    try:
        with open(path, "rb") as f:
            body = f.read()
    except OSError as exc:
        raise TaskError("cannot read %s: %s" % (path, exc.strerror or exc))
    headers = {
        "x-ms-blob-type": "BlockBlob",
        "x-ms-version": API_VERSION,
        "Content-Type": "text/plain; charset=utf-8",
        "Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode("ascii"),
    }
    for attempt in range(1, attempts + 1):
        try:
            response = _send("PUT", url, body, headers, timeout)
            with response:
                response.read()
            if 200 <= response.status < 300:
                return
            code = response.getheader("x-ms-error-code")
            problem = "HTTP %d %s" % (response.status, code or response.reason)
            retry = response.status in (408, 429) or response.status >= 500
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timeout
            problem, retry = "%s: %s" % (type(exc).__name__, exc), True
        if not retry or attempt == attempts:
            raise TaskError("upload of %r failed after %d attempt(s): %s"
                            % (label, attempt, redact(problem)))
        time.sleep(min(max_delay, base_delay * 2 ** (attempt - 1)))


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError("must be an integer >= 1, got %r" % value)
    return number


# -- map-reduce: counts files, byte ranges over HTTP, the reduce ------------------

COUNTS_ENV = "TOPWORDS_COUNTS_SAS_URL"  # a container URL (+ the counts blob name)
COUNTS_URL_ENV = "TOPWORDS_COUNTS_URL"  # the URL of the one counts blob
INPUT_URL_ENV = "TOPWORDS_INPUT_URL"  # a read URL, for --url-env
RANGE_WINDOW = 1 << 16


def write_counts(counts: Mapping[str, int], path: str) -> None:
    """Full counts, mergeable: gzip of ``word<TAB>count`` lines sorted by word
    (words never hold whitespace, so the format is unambiguous)."""
    import gzip

    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", newline="\n", compresslevel=3) as f:
        for word in sorted(counts):
            f.write("%s\t%d\n" % (word, counts[word]))


def read_counts(path: str, into: dict[str, int] | None = None) -> dict[str, int]:
    """Add a counts file (see ``write_counts``) to ``into``."""
    import gzip

    totals: dict[str, int] = {} if into is None else into
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as f:
        for line in f:
            word, _, count = line.rstrip("\n").rpartition("\t")
            totals[word] = totals.get(word, 0) + int(count)
    return totals


def _get(url: str, first: int, last: int, timeout: float = 60.0):
    """A streamed response for bytes ``[first, last]`` (None past the end)."""
    import http.client

    headers = {"Range": "bytes=%d-%d" % (first, last), "x-ms-version": API_VERSION}
    try:
        response = _send("GET", url, None, headers, timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise TaskError("reading the input failed: %s" % redact(str(exc)))
    if response.status == 416:  # the range starts past the end of the blob
        response.close()
        return None
    if not 200 <= response.status < 300:
        response.close()
        raise TaskError("reading bytes %d-%d of the input failed: HTTP %d" % (
            first, last, response.status))
    if response.status != 206 and first > 0:
        response.close()
        raise TaskError("the storage service ignored the Range header (HTTP %d)"
                        % response.status)
    return response


def _range_chunks(url: str, start: int, end: int) -> Iterator[bytes]:
    """The bytes of the tokens that START in ``[start, end)`` of the blob.

    A token belongs to the part its first byte is in: a part skips a token
    that began before ``start`` and reads past ``end`` (in small windows)
    to finish its own last token. Cuts only ever fall on ASCII whitespace,
    which is never inside a UTF-8 sequence.
    """
    if end <= start:
        return
    response = _get(url, max(start - 1, 0), end - 1)
    if response is None:
        return
    with response:
        data = response.read(CHUNK_SIZE)
        if start > 0:
            skip = data[:1].isspace() is False  # byte start-1 is inside a token
            data = data[1:]
            while skip:
                found = _ASCII_SPACE.search(data)
                if found:
                    data, skip = data[found.start():], False
                    break
                data = response.read(CHUNK_SIZE)
                if not data:
                    return  # no token starts in this part
        last = b""
        while data:
            last = data[-1:]
            yield data
            data = response.read(CHUNK_SIZE)
    if not last or last.isspace():
        return
    offset = end
    while True:  # finish the last token past the end of the part
        response = _get(url, offset, offset + RANGE_WINDOW - 1)
        if response is None:
            return
        with response:
            window = response.read()
        found = _ASCII_SPACE.search(window)
        yield window[:found.start()] if found else window
        if found or len(window) < RANGE_WINDOW:
            return
        offset += len(window)


def count_url_range(url: str, start: int, end: int, ignore_case: bool = False) -> Counter:
    """Words of the tokens that start in bytes ``[start, end)`` of a blob read
    over HTTP Range requests (a read SAS URL); the parts of a file add up to
    exactly the counts of the whole file."""
    raw: Counter = Counter()
    chunks = _range_chunks(url, start, end)
    _count_raw_chunks(_without_bom(chunks) if start == 0 else chunks, raw)
    return normalize_raw_counts(raw, ignore_case)


def reduce_outputs(manifest: Mapping, env: Mapping[str, str] | None = None) -> list[str]:
    """Merge counts files into the reports the manifest asks for; returns the
    written paths (relative, as the manifest names them)."""
    written = []
    for output in manifest["outputs"]:
        totals: dict[str, int] = {}
        for path in output["counts"]:
            try:
                read_counts(path, totals)
            except (OSError, ValueError, EOFError) as exc:
                raise TaskError("cannot read counts file %s: %s" % (path, exc))
        target = output["output_blob"]
        folder = os.path.dirname(target)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="\n") as f:
            f.write(format_report(top_words(totals, int(manifest["numwords"])), env))
        written.append(target)
    return written


# -- command line ---------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Count the top N words of a text file.")
    parser.add_argument("--filepath", help="text file to count")
    parser.add_argument("--numwords", type=_positive_int,
                        help="how many words to report (>= 1)")
    parser.add_argument("--ignore-case", action="store_true",
                        help="count words case-insensitively (casefold)")
    parser.add_argument("--output-blob", help="blob name for the output (default: see above)")
    parser.add_argument("--workers", type=_positive_int,
                        help="counting processes for large files (default: usable CPUs)")
    parser.add_argument("--counts-blob", help="also upload the full counts (gzip TSV) as "
                        "this blob, to the blob URL in $%s (or the container URL in $%s)"
                        % (COUNTS_URL_ENV, COUNTS_ENV))
    parser.add_argument("--url-env", help="count a byte range of the blob whose read SAS "
                        "URL is in this environment variable (with --range)")
    parser.add_argument("--range", help="START:END bytes for --url-env")
    args = parser.parse_args(argv)
    if args.output_blob == "":
        parser.error("argument --output-blob: must not be empty")
    if args.url_env:
        if not (args.range and args.counts_blob) or args.filepath:
            parser.error("--url-env needs --range and --counts-blob, and no --filepath")
        try:
            args.start, args.end = (int(x) for x in args.range.split(":"))
        except ValueError:
            parser.error("argument --range: expected START:END, got %r" % args.range)
        if not 0 <= args.start <= args.end:
            parser.error("argument --range: need 0 <= START <= END")
    elif not (args.filepath and args.numwords):
        parser.error("the following arguments are required: --filepath, --numwords")
    return args


def _say(message: str, stream=None) -> None:
    """Print one line; undecodable file names never crash the report."""
    line = " ".join(str(message).split("\n"))
    print(line.encode("utf-8", "backslashreplace").decode("utf-8"),
          file=stream or sys.stdout, flush=True)


def _upload_counts(counts: Mapping[str, int], blob: str) -> None:
    blob_sas, container_sas = os.environ.get(COUNTS_URL_ENV), os.environ.get(COUNTS_ENV)
    if not (blob_sas or container_sas):
        raise TaskError("--counts-blob needs a SAS URL in $%s or $%s"
                        % (COUNTS_URL_ENV, COUNTS_ENV))
    local = os.path.basename(blob) or "counts.tsv.gz"
    write_counts(counts, local)
    if blob_sas:
        upload(local, blob_sas)
    else:
        upload(local, container_sas, blob)
    _say("topwords task: uploaded counts %s" % blob)


def _map_file(args: argparse.Namespace) -> None:
    try:
        counts = count_words(args.filepath, args.ignore_case, workers=args.workers)
    except OSError as exc:
        raise TaskError("cannot read %s: %s" % (args.filepath, exc.strerror or exc))
    out_path = output_path_for(args.filepath)
    try:
        with open(out_path, "w", encoding="utf-8", newline="\n") as f:
            f.write(format_report(top_words(counts, args.numwords)))
    except OSError as exc:
        raise TaskError("cannot write %s: %s" % (out_path, exc.strerror or exc))
    _say("topwords task: counted %d words, %d distinct in %s; wrote %s" % (
        sum(counts.values()), len(counts), args.filepath, out_path))
    blob_sas, container_sas = os.environ.get(OUTPUT_URL_ENV), os.environ.get(SAS_ENV)
    if blob_sas or container_sas:
        blob_name = args.output_blob or default_blob_name(out_path)
        if blob_sas:
            upload(out_path, blob_sas)
        else:
            upload(out_path, container_sas, blob_name)
        _say("topwords task: uploaded %s" % blob_name)
    if args.counts_blob:
        _upload_counts(counts, args.counts_blob)


def _map_range(args: argparse.Namespace) -> None:
    url = os.environ.get(args.url_env)
    if not url:
        raise TaskError("$%s holds no input URL" % args.url_env)
    counts = count_url_range(url, args.start, args.end, args.ignore_case)
    _say("topwords task: counted %d words, %d distinct in bytes %d-%d" % (
        sum(counts.values()), len(counts), args.start, args.end))
    _upload_counts(counts, args.counts_blob)


def _reduce(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="task.py reduce",
                                     description="Merge counts files into top-N reports.")
    parser.add_argument("--manifest", required=True, help="JSON: numwords, outputs")
    args = parser.parse_args(argv)
    import json

    try:
        with open(args.manifest, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as exc:
        raise TaskError("cannot read the manifest %s: %s" % (args.manifest, exc))
    sas_url = os.environ.get(SAS_ENV)
    urls = {o["output_blob"]: o.get("url") for o in manifest.get("outputs", [])}
    for path in reduce_outputs(manifest):
        _say("topwords task: wrote %s" % path)
        if urls.get(path):  # the write URL of this one result
            upload(path, urls[path])
        elif sas_url:
            upload(path, sas_url, path)
        else:
            continue
        _say("topwords task: uploaded %s" % path)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["reduce"]:
            _reduce(argv[1:])
            return 0
        args = parse_args(argv)
        (_map_range if args.url_env else _map_file)(args)
    except TaskError as exc:
        _say("topwords task: error: %s" % redact(str(exc)), sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
