"""End to end: inputs whose names are odd but valid really upload, count and
download on the local backend (real Docker and Azurite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.azurite]

#: name -> its text; every word count is distinct per file, so mixing up two
#: files' results would show
ODD = {
    "my notes.txt": "space space one\n",
    "hash#tag.txt": "hash hash hash two\n",
    "100%.txt": "pct pct pct pct three\n",
    "pct%20encoded.txt": "enc enc enc enc enc four\n",
    "what?.txt": "q q q q q q five\n",
    "emoji 😀 \U00020b9f.txt": "😀 😀 😀 😀 😀 😀 😀 six\n",
    "cafe\u0301.txt": "nfd nfd nfd nfd nfd nfd nfd nfd seven\n",  # combining acute
    "caf\u00e9.txt": "nfc nfc nfc nfc nfc nfc nfc nfc nfc eight\n",  # the same, composed
    " it's $(x) `y` [z].txt": "shell shell shell shell shell shell shell shell shell shell n\n",
    "..double-dot": "dots dots dots dots dots dots dots dots dots dots dots m\n",
    'trailing space & "quotes" *.txt ': " ".join(["trail"] * 12) + " l\n",
    "nbsp\u00a0zero\u200bwidth": " ".join(["nbsp"] * 13) + " k\n",
    ".hidden": " ".join(["hidden"] * 14) + " j\n",
}


@pytest.fixture
def env(tmp_path, docker_client, azurite):
    return {**os.environ, "TOPWORDS_LOCAL_WORK_DIR": str(tmp_path / "nodes"),
            "TOPWORDS_LEDGER": str(tmp_path / "ledger.jsonl"),
            "TOPWORDS_LOCAL_STORAGE_KEY": azurite.account_key}


def top_rows(path: Path) -> list[tuple[str, int]]:
    body = path.read_text(encoding="utf-8").split("-" * 30 + "\n")[1]
    return [(w, int(c)) for w, c in (line.rsplit(":\t", 1) for line in body.splitlines())]


def test_run_odd_but_valid_names_upload_count_and_download(tmp_path, env, azurite):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in ODD.items():
        (folder / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "topwords.cli", "run", "--json", "--quiet", "--top", "1",
         "--nodes", "2", "--slots", "4", "--output-dir", str(out),
         "--azurite-url", azurite.blob_url, *(str(folder / n) for n in ODD)],
        capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    by_blob = {item["blob"]: item for item in data["inputs"]}
    assert sorted(by_blob) == sorted(ODD)
    for name, text in ODD.items():
        word = text.split()[0]
        expected = [(word, text.split().count(word))]
        item = by_blob[name]
        assert item["succeeded"], item
        assert [(w["word"], w["count"]) for w in item["top_words"]] == expected, name
        stem, ext = os.path.splitext(name)
        result = out / f"{stem}_OUTPUT{ext}"
        assert Path(item["output_file"]) == result
        assert top_rows(result) == expected, name
