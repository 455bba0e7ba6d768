"""Upload of the output file with a container SAS: a recording HTTP server and Azurite."""
from __future__ import annotations

import base64
import datetime
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from topwords.node import task

SCRIPT = Path(task.__file__)
SECRET = "S3cr3tSig%2Bvalue%3D"
SAS_QUERY = "sv=2021-08-06&sr=c&sp=cw&se=2099-01-01T00%3A00%3A00Z&sig=" + SECRET
ACCOUNT = "devstoreaccount1"


class RecordingServer(ThreadingHTTPServer):
    """Answers PUTs with scripted statuses (201 once the script runs out) and records them."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), PutHandler)
        self.script, self.requests = [], []

    @property
    def container_url(self) -> str:
        return "http://127.0.0.1:%d/%s/output" % (self.server_address[1], ACCOUNT)


class PutHandler(BaseHTTPRequestHandler):
    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.requests.append((self.path, headers, body))
        action = self.server.script.pop(0) if self.server.script else 201
        if action == "hang":
            time.sleep(1.0)
            return
        self.send_response(action)
        if action >= 400:
            self.send_header("x-ms-error-code", "ScriptedFailure")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = RecordingServer()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def output_file(tmp_path) -> Path:
    path = tmp_path / "x_OUTPUT.txt"
    path.write_text("Word\tCount\nżółw:\t3\n", "utf-8")
    return path


def run_task(tmp_path, *args, sas_url, cwd=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZ_BATCH_")}
    env[task.SAS_ENV] = sas_url
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, cwd=cwd or tmp_path,
                          capture_output=True, text=True, timeout=60)


def assert_no_secret(result):
    assert SECRET not in result.stdout + result.stderr
    assert "sig=" + SECRET[:4] not in result.stdout + result.stderr


def test_upload_named_blob_sends_one_put_with_headers_and_body(server, tmp_path):
    (tmp_path / "in.txt").write_text("b a b", "utf-8")
    blob = "dir/my file ż.txt"
    result = run_task(tmp_path, "--filepath", "in.txt", "--numwords", "2", "--output-blob", blob,
                      sas_url=server.container_url + "?" + SAS_QUERY)
    assert result.returncode == 0, result.stderr
    assert_no_secret(result)
    assert "uploaded " + blob in result.stdout
    (path, headers, body) = server.requests[0]
    assert len(server.requests) == 1
    assert path == "/%s/output/dir/my%%20file%%20%%C5%%BC.txt?%s" % (ACCOUNT, SAS_QUERY)
    assert urllib.parse.unquote(urllib.parse.urlsplit(path).path) == "/%s/output/%s" % (ACCOUNT, blob)
    assert body == (tmp_path / "in_OUTPUT.txt").read_bytes()
    assert headers["x-ms-blob-type"] == "BlockBlob"
    assert headers["x-ms-version"] == "2021-08-06"
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["content-md5"] == base64.b64encode(hashlib.md5(body).digest()).decode()


def test_upload_default_name_inside_cwd_uses_relative_path(server, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "in.txt").write_text("a", "utf-8")
    result = run_task(tmp_path, "--filepath", "sub/in.txt", "--numwords", "1",
                      sas_url=server.container_url + "/?" + SAS_QUERY)
    assert result.returncode == 0, result.stderr
    assert server.requests[0][0].startswith("/%s/output/sub/in_OUTPUT.txt?" % ACCOUNT)


def test_upload_default_name_outside_cwd_uses_base_name(server, tmp_path):
    (tmp_path / "cwd").mkdir()
    (tmp_path / "in.txt").write_text("a", "utf-8")
    result = run_task(tmp_path, "--filepath", str(tmp_path / "in.txt"), "--numwords", "1",
                      sas_url=server.container_url + "?" + SAS_QUERY, cwd=tmp_path / "cwd")
    assert result.returncode == 0, result.stderr
    assert server.requests[0][0].startswith("/%s/output/in_OUTPUT.txt?" % ACCOUNT)


def test_upload_after_503_retries_then_succeeds(server, tmp_path):
    (tmp_path / "in.txt").write_text("a", "utf-8")
    server.script = [503]
    result = run_task(tmp_path, "--filepath", "in.txt", "--numwords", "1",
                      sas_url=server.container_url + "?" + SAS_QUERY)
    assert result.returncode == 0, result.stderr
    assert len(server.requests) == 2
    assert server.requests[0] == server.requests[1]
    assert_no_secret(result)


def test_upload_403_exits_1_without_retry_or_secret(server, tmp_path):
    (tmp_path / "in.txt").write_text("a", "utf-8")
    server.script = [403]
    result = run_task(tmp_path, "--filepath", "in.txt", "--numwords", "1",
                      sas_url=server.container_url + "?" + SAS_QUERY)
    assert result.returncode == 1
    assert len(server.requests) == 1
    assert len(result.stderr.splitlines()) == 1 and "403" in result.stderr
    assert_no_secret(result)


@pytest.mark.parametrize("status", [408, 429, 500, 502])
def test_upload_transient_status_retries_with_doubling_delays(server, output_file, monkeypatch,
                                                               status):
    sleeps = []
    monkeypatch.setattr(task.time, "sleep", sleeps.append)
    server.script = [status, status, status]
    task.upload(output_file, server.container_url + "?" + SAS_QUERY, "x")
    assert len(server.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("status", [400, 404, 409])
def test_upload_client_error_status_raises_without_retry(server, output_file, status):
    server.script = [status]
    with pytest.raises(task.TaskError, match=str(status)):
        task.upload(output_file, server.container_url + "?" + SAS_QUERY, "x")
    assert len(server.requests) == 1


def test_upload_persistent_503_gives_up_after_attempts(server, output_file, monkeypatch):
    monkeypatch.setattr(task.time, "sleep", lambda s: None)
    server.script = [503] * 10
    with pytest.raises(task.TaskError, match="5 attempt"):
        task.upload(output_file, server.container_url + "?" + SAS_QUERY, "x")
    assert len(server.requests) == 5


def test_upload_hung_server_times_out_and_retries(server, output_file):
    server.script = ["hang"]
    task.upload(output_file, server.container_url + "?" + SAS_QUERY, "x",
                timeout=0.3, base_delay=0.01)
    assert len(server.requests) >= 2  # the first PUT hung and timed out


def test_main_connection_refused_exits_1_without_secret(tmp_path, monkeypatch, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = []
    monkeypatch.setattr(task.time, "sleep", sleeps.append)
    monkeypatch.setenv(task.SAS_ENV, "http://127.0.0.1:%d/a/output?%s" % (port, SAS_QUERY))
    monkeypatch.chdir(tmp_path)
    Path("in.txt").write_text("a", "utf-8")
    assert task.main(["--filepath", "in.txt", "--numwords", "1"]) == 1
    out, err = capsys.readouterr()
    assert len(sleeps) == 4 and err.count("\n") == 1 and "in_OUTPUT.txt" in err
    assert SECRET not in out + err


@pytest.mark.parametrize("url", ["ftp://h/c?sig=" + SECRET, "http://h/c", "http://h:x/c?sig=1"])
def test_upload_malformed_sas_url_raises_without_echoing_it(output_file, url):
    with pytest.raises(task.TaskError) as info:
        task.upload(output_file, url, "x")
    assert SECRET not in str(info.value) and "sig=1" not in str(info.value)


def test_upload_missing_output_file_raises_task_error(tmp_path):
    with pytest.raises(task.TaskError, match="cannot read"):
        task.upload(tmp_path / "gone.txt", "http://127.0.0.1:9/a/output?" + SAS_QUERY, "x")


def test_redact_message_with_query_hides_signature():
    text = task.redact("failed: 'http://h/c/x?sv=1&sig=%s' and sig=%s" % (SECRET, SECRET))
    assert SECRET not in text and "http://h/c/x?" in text


# --- Azurite (the session's shared server, see tests/conftest.py) ---

@pytest.mark.azurite
def test_upload_to_azurite_with_cw_sas_stores_exact_blob(azurite, tmp_path):
    blob_sdk = pytest.importorskip("azure.storage.blob")
    service = blob_sdk.BlobServiceClient(
        azurite.blob_url, credential={"account_name": ACCOUNT, "account_key": azurite.account_key})
    container = "output-" + os.urandom(6).hex()
    service.create_container(container)
    sas = blob_sdk.generate_container_sas(
        ACCOUNT, container, account_key=azurite.account_key,
        permission=blob_sdk.ContainerSasPermissions(create=True, write=True),
        expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "in.txt").write_text("\ufeff“Batch” batch Batch —", "utf-8")
    for _ in range(2):  # the second run overwrites the blob: allowed by the `w` permission
        result = run_task(tmp_path, "--filepath", "sub/in.txt", "--numwords", "2",
                          sas_url="%s/%s?%s" % (azurite.blob_url, container, sas))
        assert result.returncode == 0, result.stderr
        assert "uploaded sub/in_OUTPUT.txt" in result.stdout
        assert sas.split("sig=")[1] not in result.stdout + result.stderr
    blob = service.get_blob_client(container, "sub/in_OUTPUT.txt")
    assert blob.download_blob().readall() == (tmp_path / "sub" / "in_OUTPUT.txt").read_bytes()
    assert blob.get_blob_properties().content_settings.content_type == "text/plain; charset=utf-8"
    tampered = run_task(tmp_path, "--filepath", "sub/in.txt", "--numwords", "2",
                        sas_url="%s/%s?%s" % (azurite.blob_url, container,
                                             sas.replace("sp=cw", "sp=rcw")))
    assert tampered.returncode == 1 and "403" in tampered.stderr
    service.delete_container(container)


def test_upload_to_a_blob_url_puts_exactly_that_blob(server, tmp_path):
    (tmp_path / "in.txt").write_text("b a b", "utf-8")
    blob_sas = server.container_url + "/dir/in%20%C5%BC_OUTPUT.txt?" + SAS_QUERY
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZ_BATCH_", "TOPWORDS_"))}
    env[task.OUTPUT_URL_ENV] = blob_sas
    env[task.SAS_ENV] = "http://127.0.0.1:9/never/used?" + SAS_QUERY  # the blob URL wins
    done = subprocess.run([sys.executable, str(SCRIPT), "--filepath=in.txt", "--numwords=2"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [r[0] for r in server.requests] == [
        "/%s/output/dir/in%%20%%C5%%BC_OUTPUT.txt?%s" % (ACCOUNT, SAS_QUERY)]
    assert server.requests[0][2] == (tmp_path / "in_OUTPUT.txt").read_bytes()
    assert_no_secret(done)


def test_reduce_uploads_each_result_to_its_manifest_url(server, tmp_path, monkeypatch):
    import json
    monkeypatch.chdir(tmp_path)
    task.write_counts({"x": 3}, "c0.tsv.gz")
    manifest = {"numwords": 1, "outputs": [
        {"output_blob": "a/big_OUTPUT.txt", "counts": ["c0.tsv.gz"],
         "url": server.container_url + "/a/big_OUTPUT.txt?" + SAS_QUERY},
        {"output_blob": "GLOBAL_OUTPUT.txt", "counts": ["c0.tsv.gz"],
         "url": server.container_url + "/GLOBAL_OUTPUT.txt?" + SAS_QUERY}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.delenv(task.SAS_ENV, raising=False)
    assert task.main(["reduce", "--manifest=manifest.json"]) == 0
    assert sorted(r[0].split("?")[0] for r in server.requests) == [
        "/%s/output/GLOBAL_OUTPUT.txt" % ACCOUNT, "/%s/output/a/big_OUTPUT.txt" % ACCOUNT]


def test_a_file_name_that_looks_like_an_option_is_counted(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(task.SAS_ENV, raising=False)
    monkeypatch.delenv(task.OUTPUT_URL_ENV, raising=False)
    for name in ("-x.txt", "--numwords=9"):
        (tmp_path / name).write_text("w w v\n", "utf-8")
        assert task.main([f"--filepath={name}", "--numwords=1"]) == 0
        assert "w:\t2\n" in (tmp_path / task.output_path_for(name)).read_text("utf-8")
