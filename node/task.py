"""Top-N words task: runs on a compute node and counts the words of one text file.

    python3 task.py --filepath F --numwords N [--ignore-case] [--output-blob NAME]

Shipped to nodes as this one file (standard library only, Python 3.8+). It writes
``<stem>_OUTPUT<ext>`` next to F and, when ``TOPWORDS_OUTPUT_SAS_URL`` holds a blob
container URL with a write SAS, uploads it with one HTTP PUT (retried on connection
errors, timeouts, 408, 429 and 5xx). Exit codes: 0 ok, 1 runtime failure, 2 usage.

Counting rules:
1. F is read in binary chunks and decoded as UTF-8 incrementally (invalid bytes
   become U+FFFD): memory grows with the vocabulary, never with the file size.
   One BOM at the very start of the file is dropped.
2. Tokens are exactly ``str.split()`` of the whole decoded text (any Unicode
   whitespace separates), whatever the chunk boundaries.
3. ASCII punctuation and Unicode punctuation (category P*) are stripped from both
   ends of a token; inner punctuation stays (``don't``). Empty results are dropped.
4. Case-sensitive unless ``--ignore-case`` (``str.casefold()`` after step 3).
5. Order: count descending, then word ascending by code point.

Blob name: ``--output-blob``, else the output path relative to the current
directory (``/`` separators) when inside it, else its base name. The SAS is never
printed: anything after a ``?`` is redacted from messages.
"""
from __future__ import annotations

import argparse
import base64
import codecs
import hashlib
import heapq
import http.client
import os
import re
import string
import sys
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

CHUNK_SIZE = 1 << 20
SAS_ENV = "TOPWORDS_OUTPUT_SAS_URL"
API_VERSION = "2021-08-06"
ENV_FIELDS = (("Node: ", "AZ_BATCH_NODE_ID"), ("Task: ", "AZ_BATCH_TASK_ID"),
              ("Job:  ", "AZ_BATCH_JOB_ID"), ("Pool: ", "AZ_BATCH_POOL_ID"))
RULE = "-" * 30
_ASCII_PUNCT = frozenset(string.punctuation)
_punct_cache: Dict[str, bool] = {}  # filled once per distinct end character


class TaskError(Exception):
    """An expected runtime failure: reported as one line, exit code 1."""


def is_punctuation(ch: str) -> bool:
    """True for ASCII punctuation and any Unicode category P* character."""
    hit = _punct_cache.get(ch)
    if hit is None:
        hit = _punct_cache[ch] = (ch in _ASCII_PUNCT
                                  or unicodedata.category(ch).startswith("P"))
    return hit


def _token_lists(stream, chunk_size: int = CHUNK_SIZE) -> Iterator[List[str]]:
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


def count_stream(stream, ignore_case: bool = False,
                 chunk_size: int = CHUNK_SIZE) -> Counter:
    """Count the words of a binary stream (see the module rules)."""
    raw: Counter = Counter()
    for tokens in _token_lists(stream, chunk_size):
        raw.update(tokens)
    return normalize_counts(raw, ignore_case)


def count_words(path, ignore_case: bool = False,
                chunk_size: int = CHUNK_SIZE) -> Counter:
    """Count the words of the file at ``path``. Raises OSError."""
    with open(path, "rb") as stream:
        return count_stream(stream, ignore_case, chunk_size)


def top_words(counts: Mapping[str, int], n: int) -> List[Tuple[str, int]]:
    """The first ``n`` of (word, count), count descending then word ascending."""
    return heapq.nsmallest(max(n, 0), counts.items(), key=lambda wc: (-wc[1], wc[0]))


def format_report(top: Iterable[Tuple[str, int]],
                  env: Optional[Mapping[str, str]] = None) -> str:
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


def blob_url(container_sas_url: str, blob_name: str) -> str:
    """``<container>/<quoted blob name>?<sas>``. Raises TaskError."""
    parts = urllib.parse.urlsplit(container_sas_url)
    try:
        parts.port  # validates it
    except ValueError:
        parts = parts._replace(scheme="")
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.query:
        raise TaskError("%s must be an http(s) container URL with a SAS query string"
                        % SAS_ENV)
    path = parts.path.rstrip("/") + "/" + urllib.parse.quote(blob_name, safe="/")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def upload(path, container_sas_url: str, blob_name: str, *, attempts: int = 5,
           base_delay: float = 0.5, max_delay: float = 8.0,
           timeout: float = 30.0) -> None:
    """PUT the file as a block blob; retries transient failures. Raises TaskError."""
    url = blob_url(container_sas_url, blob_name)
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
        request = urllib.request.Request(url, data=body, headers=headers, method="PUT")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
            return  # urlopen raises HTTPError for anything but 2xx
        except urllib.error.HTTPError as exc:
            code = exc.headers.get("x-ms-error-code") if exc.headers else None
            problem = "HTTP %d %s" % (exc.code, code or exc.reason)
            retry = exc.code in (408, 429) or exc.code >= 500
            exc.close()
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timeout
            reason = getattr(exc, "reason", None) or exc
            problem, retry = "%s: %s" % (type(exc).__name__, reason), True
        if not retry or attempt == attempts:
            raise TaskError("upload of %r failed after %d attempt(s): %s"
                            % (blob_name, attempt, redact(problem)))
        time.sleep(min(max_delay, base_delay * 2 ** (attempt - 1)))


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError("must be an integer >= 1, got %r" % value)
    return number


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Count the top N words of a text file.")
    parser.add_argument("--filepath", required=True, help="text file to count")
    parser.add_argument("--numwords", required=True, type=_positive_int,
                        help="how many words to report (>= 1)")
    parser.add_argument("--ignore-case", action="store_true",
                        help="count words case-insensitively (casefold)")
    parser.add_argument("--output-blob", help="blob name for the output (default: see above)")
    args = parser.parse_args(argv)
    if args.output_blob == "":
        parser.error("argument --output-blob: must not be empty")
    return args


def _say(message: str, stream=None) -> None:
    """Print one line; undecodable file names never crash the report."""
    line = " ".join(str(message).split("\n"))
    print(line.encode("utf-8", "backslashreplace").decode("utf-8"),
          file=stream or sys.stdout, flush=True)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        try:
            counts = count_words(args.filepath, args.ignore_case)
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
        sas_url = os.environ.get(SAS_ENV)
        if sas_url:
            blob_name = args.output_blob or default_blob_name(out_path)
            upload(out_path, sas_url, blob_name)
            _say("topwords task: uploaded %s" % blob_name)
    except TaskError as exc:
        _say("topwords task: error: %s" % redact(str(exc)), sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
