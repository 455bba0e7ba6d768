"""AzureConfig and the azure backend's create(), without any network."""

from __future__ import annotations

import base64
import importlib
import os
import sys
import types

import pytest

import topwords.backends.azure as azure_backend
from topwords.backends.azure.blob_storage import AzureBlobStorage, BlobStorageConfig
from topwords.backends.azure.config import AzureConfig, config_path
from topwords.core.errors import BackendUnavailable, ConfigError

BATCH_KEY = base64.b64encode(b"b" * 64).decode()
STORAGE_KEY = base64.b64encode(b"s" * 64).decode()
UNPADDED = base64.b64encode(b"u" * 63).decode()  # a key-like line without "="
BATCH_URL = "https://mybatch.westeurope.batch.azure.com"
STORAGE_URL = "https://mystore.blob.core.windows.net"
AZURITE_URL = "http://127.0.0.1:10000/devstoreaccount1"
BATCH_COMPUTE = "topwords.backends.azure.batch_compute"


class FakeDefaultCredential:
    """Stands in for DefaultAzureCredential: no credential discovery."""

    instances = 0

    def __init__(self) -> None:
        type(self).instances += 1
        self.closed = 0

    def get_token(self, *scopes, **kwargs):  # pragma: no cover - never called
        raise AssertionError("no token is requested in these tests")

    def close(self) -> None:
        self.closed += 1


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No TOPWORDS_* variable, and a config home with no config file."""
    for var in [v for v in os.environ if v.startswith("TOPWORDS_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(FakeDefaultCredential, "instances", 0)
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", FakeDefaultCredential)


def keyed(**overrides) -> AzureConfig:
    values = dict(batch_url=BATCH_URL, batch_key=BATCH_KEY,
                  storage_url=STORAGE_URL, storage_key=STORAGE_KEY)
    values.update(overrides)
    return AzureConfig(**values)


def write_config(tmp_path, text: str):
    path = tmp_path / "xdg" / "topwords" / "config.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- precedence -----------------------------------------------------------

def test_from_env_explicit_env_and_file_explicit_wins_then_env(monkeypatch, tmp_path):
    write_config(tmp_path, "[azure]\n"
                 "batch_url = https://filebatch.eastus.batch.azure.com\n"
                 "batch_account = fromfile\n"
                 "storage_url = https://filestore.blob.core.windows.net\n"
                 "storage_account = filestore\n"
                 f"storage_key = {STORAGE_KEY}\n"
                 "request_timeout = 12.5\n")
    monkeypatch.setenv("TOPWORDS_BATCH_URL", BATCH_URL)
    monkeypatch.setenv("TOPWORDS_BATCH_ACCOUNT", "fromenv")
    monkeypatch.setenv("TOPWORDS_BATCH_KEY", BATCH_KEY)
    monkeypatch.setenv("TOPWORDS_STORAGE_ACCOUNT", "envstore")

    config = AzureConfig.from_env(batch_account="explicit", storage_account=None)

    assert config.batch_account == "explicit"             # explicit > env > file
    assert config.batch_url == BATCH_URL                   # env > file
    assert config.batch_key == BATCH_KEY                   # env only
    assert config.storage_account == "envstore"            # explicit None does not count
    assert config.storage_url == "https://filestore.blob.core.windows.net"  # file only
    assert config.storage_key == STORAGE_KEY
    assert config.request_timeout == 12.5


def test_from_env_empty_variable_file_value_is_kept(monkeypatch, tmp_path):
    write_config(tmp_path, f"[azure]\nbatch_url = {BATCH_URL}\nstorage_url = {STORAGE_URL}\n")
    monkeypatch.setenv("TOPWORDS_BATCH_URL", "")

    assert AzureConfig.from_env().batch_url == BATCH_URL


def test_from_env_unknown_option_raises_config_error():
    with pytest.raises(ConfigError, match="unknown azure backend option.*vm_sise"):
        AzureConfig.from_env(batch_url=BATCH_URL, storage_url=STORAGE_URL, vm_sise="x")


# -- account names from URLs ----------------------------------------------

@pytest.mark.parametrize("url, account", [
    ("https://mystore.blob.core.windows.net", "mystore"),
    ("https://mystore.blob.core.windows.net/", "mystore"),
    ("http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1"),
    ("http://localhost:10000/devstoreaccount1/", "devstoreaccount1"),
    ("http://azurite:10000/devstoreaccount1", "devstoreaccount1"),
])
def test_construct_storage_url_without_account_derives_account(url, account):
    config = keyed(storage_url=url)
    assert config.storage_account == account
    assert config.storage_url == url.rstrip("/")


def test_construct_batch_url_without_account_derives_first_host_label():
    assert keyed().batch_account == "mybatch"


def test_construct_explicit_account_beats_derived_account():
    assert keyed(batch_account="other").batch_account == "other"


def test_construct_ip_batch_url_without_account_raises_naming_variable():
    with pytest.raises(ConfigError, match="TOPWORDS_BATCH_ACCOUNT"):
        keyed(batch_url="http://127.0.0.1:8080")


def test_construct_ip_batch_url_with_account_is_accepted():
    config = keyed(batch_url="http://127.0.0.1:8080", batch_account="emulated")
    assert (config.batch_url, config.batch_account) == ("http://127.0.0.1:8080", "emulated")


# -- missing and invalid values -------------------------------------------

def test_from_env_no_urls_message_names_both_variables_and_file():
    with pytest.raises(ConfigError) as info:
        AzureConfig.from_env()
    message = str(info.value)
    for name in ("TOPWORDS_BATCH_URL", "TOPWORDS_STORAGE_URL", "batch_url", "storage_url",
                 "[azure]", "topwords/config.ini"):
        assert name in message
    assert "README" in info.value.hint


def test_from_env_missing_storage_url_message_names_only_storage(monkeypatch):
    monkeypatch.setenv("TOPWORDS_BATCH_URL", BATCH_URL)
    with pytest.raises(ConfigError, match="TOPWORDS_STORAGE_URL") as info:
        AzureConfig.from_env()
    assert "TOPWORDS_BATCH_URL" not in str(info.value)


def test_from_env_missing_url_message_names_topwords_config_file(monkeypatch, tmp_path):
    path = tmp_path / "mine.ini"
    path.write_text("[other]\nx = 1\n")
    monkeypatch.setenv("TOPWORDS_CONFIG", str(path))
    with pytest.raises(ConfigError, match="mine.ini"):
        AzureConfig.from_env()


@pytest.mark.parametrize("url", ["ftp://mybatch.batch.azure.com", "mybatch.batch.azure.com",
                                 "https://", "file:///etc/passwd"])
def test_construct_non_http_url_raises_config_error(url):
    with pytest.raises(ConfigError, match="http"):
        keyed(batch_url=url)


def test_construct_sas_url_raises_without_echoing_signature():
    with pytest.raises(ConfigError) as info:
        keyed(storage_url=STORAGE_URL + "/?sv=2025&sig=S3CRET")
    assert "S3CRET" not in str(info.value)


def test_construct_url_with_password_raises_without_echoing_it():
    with pytest.raises(ConfigError) as info:
        keyed(storage_url="https://user:hunter2@mystore.blob.core.windows.net")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("field", ["batch_key", "storage_key"])
@pytest.mark.parametrize("bad", ["not base64!", "abc", "AAAA====x", "=="])
def test_construct_bad_base64_key_raises_without_echoing_key(field, bad):
    with pytest.raises(ConfigError, match="base64") as info:
        keyed(**{field: bad})
    assert bad not in str(info.value) and bad not in str(info.value.hint)


def test_from_env_bad_key_in_variable_raises_naming_variable(monkeypatch):
    monkeypatch.setenv("TOPWORDS_STORAGE_KEY", "s3cret-not-base64")
    with pytest.raises(ConfigError, match="TOPWORDS_STORAGE_KEY") as info:
        AzureConfig.from_env(batch_url=BATCH_URL, batch_key=BATCH_KEY, storage_url=STORAGE_URL)
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("overrides, variable", [
    ({"batch_url": "http://127.0.0.1:8080", "batch_account": "b", "batch_key": None},
     "TOPWORDS_BATCH_KEY"),
    ({"storage_url": AZURITE_URL, "storage_key": None}, "TOPWORDS_STORAGE_KEY"),
])
def test_construct_http_url_without_key_raises_config_error(overrides, variable):
    with pytest.raises(ConfigError, match=f"plain http.*{variable}"):
        keyed(**overrides)


@pytest.mark.parametrize("timeout", [0, -1, "60", True, float("nan")])
def test_construct_bad_request_timeout_raises_config_error(timeout):
    with pytest.raises(ConfigError, match="request_timeout"):
        keyed(request_timeout=timeout)


def test_construct_positional_arguments_are_refused():
    with pytest.raises(TypeError):
        AzureConfig(BATCH_URL, None, BATCH_KEY, STORAGE_URL)  # type: ignore[misc]


# -- no secret shows ------------------------------------------------------

def test_repr_str_and_describe_never_contain_keys():
    config = keyed()
    for text in (repr(config), str(config), config.describe()):
        assert BATCH_KEY not in text and STORAGE_KEY not in text
    assert "mybatch" in repr(config) and "_key" not in repr(config)


def test_describe_with_keys_names_accounts_urls_and_shared_key():
    assert keyed().describe() == (
        f"Batch account mybatch at {BATCH_URL} (shared key), "
        f"storage account mystore at {STORAGE_URL} (shared key)")


def test_describe_without_keys_says_azure_ad():
    text = keyed(batch_key=None, storage_key=None).describe()
    assert text.count("(Azure AD)") == 2


def test_endpoint_spelled_differently_is_the_same_and_has_no_key():
    a = keyed(batch_url="HTTPS://MyBatch.WestEurope.batch.azure.com/", batch_account="mybatch")
    b = keyed(batch_url=BATCH_URL)
    assert a.endpoint() == b.endpoint() == f"batch={BATCH_URL} storage={STORAGE_URL}"
    assert BATCH_KEY not in a.endpoint() and STORAGE_KEY not in a.endpoint()


def test_repr_after_credential_created_hides_credential():
    config = keyed(batch_key=None)
    config.batch_credential()
    assert "FakeDefaultCredential" not in repr(config)


# -- config file ----------------------------------------------------------

def test_read_file_azure_section_supplies_every_setting(tmp_path):
    write_config(tmp_path, "[DEFAULT]\nunrelated = 1\n[other]\nbatch_url = nope\n[azure]\n"
                 f"batch_url = {BATCH_URL}\nbatch_key = {BATCH_KEY}\n"
                 f"storage_url = {AZURITE_URL}\nstorage_key = {STORAGE_KEY}\n")
    config = AzureConfig.from_env()
    assert (config.batch_url, config.batch_account, config.batch_key) == (
        BATCH_URL, "mybatch", BATCH_KEY)
    assert (config.storage_url, config.storage_account, config.storage_key) == (
        AZURITE_URL, "devstoreaccount1", STORAGE_KEY)


def test_read_file_topwords_config_beats_xdg_location(monkeypatch, tmp_path):
    write_config(tmp_path, "[azure]\nbatch_url = https://xdg.eastus.batch.azure.com\n")
    mine = tmp_path / "mine.ini"
    mine.write_text(f"[azure]\nbatch_url = {BATCH_URL}\nstorage_url = {STORAGE_URL}\n")
    monkeypatch.setenv("TOPWORDS_CONFIG", str(mine))
    assert config_path() == mine
    assert AzureConfig.from_env(batch_key=BATCH_KEY).batch_account == "mybatch"


def test_config_path_relative_xdg_config_home_falls_back_to_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    assert config_path() == tmp_path / ".config" / "topwords" / "config.ini"


def test_read_file_missing_topwords_config_raises_naming_file(monkeypatch, tmp_path):
    monkeypatch.setenv("TOPWORDS_CONFIG", str(tmp_path / "absent.ini"))
    with pytest.raises(ConfigError, match="absent.ini.*does not exist"):
        AzureConfig.from_env(batch_url=BATCH_URL, storage_url=STORAGE_URL)


@pytest.mark.parametrize("text, where", [
    (f"batch_key = {BATCH_KEY}\n", "line 1"),                          # no section header
    (f"[azure]\nbatch_url = {BATCH_URL}\n{UNPADDED}\n", "line 3"),     # not key = value
    (f"[azure]\nbatch_key = {BATCH_KEY}\nbatch_key = {BATCH_KEY}\n", "appears twice"),
])
def test_read_file_invalid_ini_raises_naming_file_without_line_text(tmp_path, text, where):
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        AzureConfig.from_env()
    message = str(info.value)
    assert str(path.name) in message and "not a valid INI file" in message
    assert where in message
    assert BATCH_KEY not in message and UNPADDED not in message


def test_read_file_pasted_key_line_raises_without_echoing_it(tmp_path):
    # "<key>==" parses as an option named after the key, with value "="
    write_config(tmp_path, f"[azure]\nbatch_url = {BATCH_URL}\n{BATCH_KEY}\n")
    with pytest.raises(ConfigError, match="unknown key.*1 more") as info:
        AzureConfig.from_env()
    assert BATCH_KEY.lower()[:20] not in str(info.value).lower()


def test_read_file_unknown_key_raises_naming_it(tmp_path):
    write_config(tmp_path, f"[azure]\nbatch_uri = {BATCH_URL}\n")
    with pytest.raises(ConfigError, match="batch_uri"):
        AzureConfig.from_env()


def test_read_file_unreadable_raises_naming_file(tmp_path):
    (tmp_path / "xdg" / "topwords" / "config.ini").mkdir(parents=True)  # a directory
    with pytest.raises(ConfigError, match="cannot read the config file .*config.ini"):
        AzureConfig.from_env()


def test_read_file_not_utf8_raises_naming_file(tmp_path):
    path = write_config(tmp_path, "")
    path.write_bytes(b"[azure]\nbatch_url = \xff\xfe\n")
    with pytest.raises(ConfigError, match="config.ini is not UTF-8"):
        AzureConfig.from_env()


def test_read_file_bad_request_timeout_raises_config_error(tmp_path):
    write_config(tmp_path, f"[azure]\nbatch_url = {BATCH_URL}\nstorage_url = {STORAGE_URL}\n"
                 "request_timeout = soon\n")
    with pytest.raises(ConfigError, match="request_timeout.*'soon'"):
        AzureConfig.from_env(batch_key=BATCH_KEY)


# -- credentials and storage config ---------------------------------------

def test_batch_credential_with_key_returns_named_key_credential():
    from azure.core.credentials import AzureNamedKeyCredential

    credential = keyed().batch_credential()
    assert isinstance(credential, AzureNamedKeyCredential)
    assert credential.named_key == ("mybatch", BATCH_KEY)
    assert FakeDefaultCredential.instances == 0


def test_batch_credential_without_key_returns_default_credential_shared_with_storage():
    config = keyed(batch_key=None, storage_key=None)
    credential = config.batch_credential()
    assert isinstance(credential, FakeDefaultCredential)
    assert config.batch_credential() is credential
    assert config.storage_config().credential is credential
    assert FakeDefaultCredential.instances == 1


def test_batch_credential_without_identity_sdk_raises_backend_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    with pytest.raises(BackendUnavailable) as info:
        keyed(batch_key=None).batch_credential()
    assert "topwords[azure]" in info.value.hint


def test_storage_config_with_key_carries_key_account_and_timeout():
    storage = keyed(storage_url=AZURITE_URL, request_timeout=7).storage_config()
    assert isinstance(storage, BlobStorageConfig)
    assert (storage.account_url, storage.account_name, storage.account_key,
            storage.credential, storage.timeout) == (
        AZURITE_URL, "devstoreaccount1", STORAGE_KEY, None, 7)
    assert FakeDefaultCredential.instances == 0


# -- create() -------------------------------------------------------------

class FakeCompute:
    def __init__(self, endpoint, credential, **kwargs) -> None:
        self.endpoint, self.credential, self.kwargs = endpoint, credential, kwargs
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def fake_connect(monkeypatch):
    """Replace ``batch_compute.connect`` (or stand in for the whole module
    while it does not exist yet); returns the list of computes built."""
    built: list[FakeCompute] = []

    def connect(endpoint, credential, **kwargs):
        built.append(FakeCompute(endpoint, credential, **kwargs))
        return built[-1]

    try:
        module = importlib.import_module(BATCH_COMPUTE)
    except ModuleNotFoundError as exc:
        if exc.name != BATCH_COMPUTE:
            raise
        module = types.ModuleType(BATCH_COMPUTE)
        monkeypatch.setitem(sys.modules, BATCH_COMPUTE, module)
    monkeypatch.setattr(module, "connect", connect, raising=False)
    return built


def test_create_with_keys_returns_azure_backend_with_blob_storage(fake_connect):
    backend = azure_backend.create(batch_url=BATCH_URL, batch_key=BATCH_KEY,
                                   storage_url=AZURITE_URL, storage_key=STORAGE_KEY)
    with backend:
        assert backend.name == "azure"
        assert isinstance(backend.storage, AzureBlobStorage)
        assert backend.storage.config.account_name == "devstoreaccount1"
        [compute] = fake_connect
        assert backend.compute is compute
        assert compute.endpoint == BATCH_URL
        assert compute.credential.named_key == ("mybatch", BATCH_KEY)
        assert compute.kwargs == {"connection_timeout": 10.0, "read_timeout": 60.0}
        assert backend.describe == keyed(storage_url=AZURITE_URL).describe()
        assert backend.endpoint == keyed(storage_url=AZURITE_URL).endpoint()
    assert compute.closed == 1


def test_create_without_keys_closes_shared_credential_once(fake_connect):
    backend = azure_backend.create(batch_url=BATCH_URL, storage_url=STORAGE_URL)
    credential = fake_connect[0].credential
    assert isinstance(credential, FakeDefaultCredential)
    assert backend.storage.config.credential is credential
    backend.close()
    assert credential.closed == 1


def test_create_connect_fails_closes_storage_and_reraises(monkeypatch, fake_connect):
    closed = []
    monkeypatch.setattr(AzureBlobStorage, "close", lambda self: closed.append(self))

    def failing_connect(endpoint, credential, **kwargs):
        raise ConfigError("boom")

    monkeypatch.setattr(sys.modules[BATCH_COMPUTE], "connect", failing_connect)
    with pytest.raises(ConfigError, match="boom"):
        azure_backend.create(batch_url=BATCH_URL, batch_key=BATCH_KEY,
                             storage_url=STORAGE_URL, storage_key=STORAGE_KEY)
    assert len(closed) == 1


def test_create_missing_storage_sdk_raises_backend_unavailable(monkeypatch, fake_connect):
    monkeypatch.delitem(sys.modules, "topwords.backends.azure.blob_storage")
    monkeypatch.setitem(sys.modules, "azure.storage.blob", None)
    with pytest.raises(BackendUnavailable, match="azure.storage.blob") as info:
        azure_backend.create(batch_url=BATCH_URL, batch_key=BATCH_KEY,
                             storage_url=STORAGE_URL, storage_key=STORAGE_KEY)
    assert info.value.hint == "pip install 'topwords[azure]'"


def test_create_missing_batch_sdk_raises_backend_unavailable(monkeypatch):
    monkeypatch.delitem(sys.modules, BATCH_COMPUTE, raising=False)
    monkeypatch.setitem(sys.modules, "azure.batch", None)
    with pytest.raises(BackendUnavailable, match="azure.batch") as info:
        azure_backend.create(batch_url=BATCH_URL, batch_key=BATCH_KEY,
                             storage_url=STORAGE_URL, storage_key=STORAGE_KEY)
    assert info.value.hint == "pip install 'topwords[azure]'"


def test_create_bad_option_raises_before_building_anything(fake_connect):
    with pytest.raises(ConfigError):
        azure_backend.create(batch_url=BATCH_URL, storage_url=STORAGE_URL, pool="x")
    assert fake_connect == []


def test_create_with_real_batch_compute_returns_compute():
    try:
        importlib.import_module(BATCH_COMPUTE)
    except ModuleNotFoundError as exc:
        if exc.name != BATCH_COMPUTE:
            raise
        pytest.skip("backends/azure/batch_compute.py does not exist yet")
    from topwords.core.compute import Compute

    with azure_backend.create(batch_url=BATCH_URL, batch_key=BATCH_KEY,
                              storage_url=STORAGE_URL, storage_key=STORAGE_KEY) as backend:
        assert isinstance(backend.compute, Compute)
        assert backend.compute.name == "azure"
