"""Settings of the Azure backend: which Batch and Storage accounts, and how to
authenticate to them.

Each setting comes from, first match wins:

1. an explicit argument of :meth:`AzureConfig.from_env` (a CLI flag), unless None;
2. its environment variable (``TOPWORDS_BATCH_URL``, ...), unless empty;
3. the ``[azure]`` section of the config file: ``$TOPWORDS_CONFIG``, else
   ``$XDG_CONFIG_HOME/topwords/config.ini`` (``~/.config/topwords/config.ini``).

Importing this module needs no SDK; the credential and storage helpers import
theirs when called.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from topwords.core.errors import BackendUnavailable, ConfigError, redact_url
from topwords.core.registry import install_hint
from topwords.core.settings import merge_settings

__all__ = ["AzureConfig", "config_path"]

#: field -> environment variable (the config file key is the field name)
ENV = {
    "batch_url": "TOPWORDS_BATCH_URL",
    "batch_account": "TOPWORDS_BATCH_ACCOUNT",
    "batch_key": "TOPWORDS_BATCH_KEY",
    "storage_url": "TOPWORDS_STORAGE_URL",
    "storage_account": "TOPWORDS_STORAGE_ACCOUNT",
    "storage_key": "TOPWORDS_STORAGE_KEY",
}
#: keys the ``[azure]`` section may hold
FILE_KEYS = (*ENV, "request_timeout")
SECTION = "azure"
README_HINT = 'see "Running on Azure" in README.md'
INSTALL_HINT = install_hint("azure")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def config_path() -> Path:
    """The config file in use: ``$TOPWORDS_CONFIG``, else
    ``$XDG_CONFIG_HOME/topwords/config.ini`` (XDG_CONFIG_HOME counts only when
    absolute, as the XDG spec says), else ``~/.config/topwords/config.ini``."""
    if os.environ.get("TOPWORDS_CONFIG"):
        return Path(os.environ["TOPWORDS_CONFIG"]).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".config"
    return base / "topwords" / "config.ini"


def _shown(path: Path) -> str:
    """``path`` with the home directory written as ``~``."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)


@dataclass(frozen=True, kw_only=True)
class AzureConfig:
    """Where the Azure backend runs and how it authenticates.

    Without a key, the account is reached with Azure AD through
    ``DefaultAzureCredential`` (one instance serves Batch and Storage).

    Attributes:
        batch_url: Batch account endpoint, ``https://<account>.<region>.batch.azure.com``
            (http only for an emulator, and then with ``batch_key``).
        batch_account: Batch account name; default: the URL's first host label.
        batch_key: Batch shared key (base64), or None for Azure AD.
        storage_url: blob endpoint, ``https://<account>.blob.core.windows.net``
            or path-style ``http://127.0.0.1:10000/devstoreaccount1`` (Azurite).
        storage_account: storage account name; default: the path's first
            segment of a path-style URL, else the URL's first host label.
        storage_key: storage shared key (base64), or None for Azure AD.
        request_timeout: seconds to wait for one service response.

    Raises:
        ConfigError: a value is missing or invalid (messages never hold a key).
    """

    batch_url: str
    batch_account: str | None = None
    batch_key: str | None = field(default=None, repr=False)
    storage_url: str
    storage_account: str | None = None
    storage_key: str | None = field(default=None, repr=False)
    request_timeout: float = 60.0

    def __post_init__(self) -> None:
        missing = [name for name in ("batch_url", "storage_url") if not getattr(self, name)]
        if missing:
            raise _missing(missing, config_path())
        for service in ("batch", "storage"):
            self._settle(service)
        if isinstance(self.request_timeout, bool) or not isinstance(
                self.request_timeout, (int, float)) or not self.request_timeout > 0:
            raise ConfigError(f"request_timeout must be a positive number of seconds, "
                              f"not {self.request_timeout!r}")

    def _settle(self, service: str) -> None:
        """Check ``<service>_url`` and ``_key``; fill in ``_account``."""
        label = {"batch": "Batch", "storage": "storage"}[service]
        url = _check_url(f"the {label} URL", getattr(self, f"{service}_url"))
        account = getattr(self, f"{service}_account") or account_from_url(url)
        if not account:
            raise ConfigError(f"cannot tell the {label} account name from {url!r}: "
                              f"set {ENV[f'{service}_account']}", hint=README_HINT)
        key = getattr(self, f"{service}_key") or None
        if key is not None:
            _check_key(f"the {label} account key ({ENV[f'{service}_key']})", key)
        elif urlsplit(url).scheme == "http":
            raise ConfigError(f"the {label} URL {url!r} is plain http, which needs a shared "
                              f"key: Azure AD tokens are only sent over https; "
                              f"set {ENV[f'{service}_key']}", hint=README_HINT)
        for name, value in (("url", url), ("account", account), ("key", key)):
            object.__setattr__(self, f"{service}_{name}", value)

    @classmethod
    def from_env(cls, **explicit: Any) -> "AzureConfig":
        """Build a config from explicit values, the environment and the config
        file, in that order of precedence (see the module docstring).

        Raises:
            ConfigError: an unknown option, an unreadable or invalid config
                file, or a missing or invalid setting.
        """
        path = config_path()
        values = merge_settings(cls, explicit, ENV, what="azure backend",
                                base=_read_file(path))
        missing = [name for name in ("batch_url", "storage_url") if not values.get(name)]
        if missing:
            raise _missing(missing, path)
        if isinstance(values.get("request_timeout"), str):
            values["request_timeout"] = _seconds(values["request_timeout"])
        return cls(**values)

    # -- what the backend builds from it ----------------------------------

    def batch_credential(self) -> Any:
        """``AzureNamedKeyCredential`` with a Batch key, else the shared
        ``DefaultAzureCredential``.

        Raises:
            BackendUnavailable: azure-core or azure-identity is not installed.
        """
        if self.batch_key:
            try:
                from azure.core.credentials import AzureNamedKeyCredential
            except ImportError as exc:
                raise BackendUnavailable("the azure backend needs azure-core, which is not "
                                         "installed", hint=INSTALL_HINT) from exc
            return AzureNamedKeyCredential(self.batch_account, self.batch_key)
        return self._token_credential

    def storage_config(self) -> Any:
        """A ``BlobStorageConfig`` for the storage account: its key, else the
        same ``DefaultAzureCredential`` :meth:`batch_credential` returns.

        Raises:
            BackendUnavailable: azure-storage-blob (or, without a storage key,
                azure-identity) is not installed.
        """
        try:
            from .blob_storage import BlobStorageConfig
        except ImportError as exc:
            raise BackendUnavailable("the azure backend needs azure-storage-blob, which is "
                                     "not installed", hint=INSTALL_HINT) from exc
        return BlobStorageConfig(
            account_url=self.storage_url, account_name=self.storage_account,
            account_key=self.storage_key,
            credential=None if self.storage_key else self._token_credential,
            timeout=self.request_timeout)

    def describe(self) -> str:
        """One line for the user: accounts, endpoints and kind of auth, no secret."""
        def auth(key: str | None) -> str:
            return "shared key" if key else "Azure AD"
        return (f"Batch account {self.batch_account} at {self.batch_url} ({auth(self.batch_key)}), "
                f"storage account {self.storage_account} at {self.storage_url} "
                f"({auth(self.storage_key)})")

    def endpoint(self) -> str:
        """Where resources live, for the run ledger: both endpoints with
        scheme and host in lower case (stable however the user spelled them)."""
        def norm(url: str) -> str:
            parts = urlsplit(url)
            return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()
        return f"batch={norm(self.batch_url)} storage={norm(self.storage_url)}"

    @cached_property
    def _token_credential(self) -> Any:
        """One ``DefaultAzureCredential`` per config, created on first use."""
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError as exc:
            raise BackendUnavailable(
                "no Batch or storage key is set and azure-identity is not installed",
                hint=f"set {ENV['batch_key']} and {ENV['storage_key']}, or {INSTALL_HINT}"
            ) from exc
        return DefaultAzureCredential()


# -- helpers ------------------------------------------------------------------

def _missing(names: list[str], path: Path) -> ConfigError:
    variables = " and ".join(ENV[n] for n in names)
    keys = " and ".join(names)
    return ConfigError(f"the azure backend needs its endpoints: set {variables} "
                       f"(or {keys} in [{SECTION}] of {_shown(path)})", hint=README_HINT)


def _check_url(what: str, url: str) -> str:
    """``url`` without a trailing slash, if it is a usable http(s) endpoint."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ConfigError(f"{what} must not contain a user name or password")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what} must be an http(s) URL, not {redact_url(url)!r}",
                          hint=README_HINT)
    if parts.query or parts.fragment:
        raise ConfigError(f"{what} {redact_url(url)!r} must not have a query string or "
                          "fragment (give the account endpoint, not a SAS URL)")
    return url.rstrip("/")


def account_from_url(url: str) -> str:
    """``https://acct.blob.core.windows.net`` -> ``acct``;
    ``http://127.0.0.1:10000/devstoreaccount1`` -> ``devstoreaccount1``;
    ``http://127.0.0.1:8080`` -> ``""`` (nothing to tell)."""
    parts = urlsplit(url)
    path = parts.path.strip("/")
    if path:
        return path.split("/")[0]
    host = parts.hostname or ""
    if host == "localhost" or host.replace(".", "").isdigit() or ":" in host:
        return ""
    return host.split(".")[0]


def _check_key(what: str, key: str) -> None:
    """A shared key must be non-empty base64; the message never shows it."""
    try:
        valid = bool(base64.b64decode(key, validate=True))
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise ConfigError(f"{what} is not a valid base64 account key",
                          hint="copy it again from the portal: Keys, primary key")


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"request_timeout must be a number of seconds, not {text!r}") from None


def _read_file(path: Path) -> dict[str, str]:
    """The ``[azure]`` values of the config file; {} when the default file is
    absent. Error messages name the file and line, never a line's text (it
    may hold a key)."""
    explicit = bool(os.environ.get("TOPWORDS_CONFIG"))
    # No DEFAULT magic: every section holds only its own keys.
    parser = configparser.ConfigParser(interpolation=None, default_section="\0")
    try:
        with open(path, encoding="utf-8") as stream:
            parser.read_file(stream)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"the config file {_shown(path)} (TOPWORDS_CONFIG) does not "
                              "exist") from None
        return {}
    except UnicodeDecodeError:
        raise ConfigError(f"the config file {_shown(path)} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {_shown(path)}: "
                          f"{exc.strerror or type(exc).__name__}") from None
    except configparser.Error as exc:
        raise ConfigError(f"the config file {_shown(path)} is not a valid INI file"
                          f"{_where(exc)}", hint=README_HINT) from None
    if not parser.has_section(SECTION):
        return {}
    values = {k: v.strip() for k, v in parser.items(SECTION)}
    unknown = set(values) - set(FILE_KEYS)
    if unknown:
        # A pasted key ending in "=" parses as a key name: show only names.
        named = sorted(k for k in unknown if _NAME.fullmatch(k))
        hidden = len(unknown) - len(named)
        listed = ", ".join(named + [f"{hidden} more (not shown: may be a secret)"] * bool(hidden))
        raise ConfigError(f"unknown key(s) in [{SECTION}] of {_shown(path)}: {listed}; "
                          f"known: {', '.join(FILE_KEYS)}")
    return {k: v for k, v in values.items() if v}


def _where(exc: configparser.Error) -> str:
    """`` (line N)`` for a parse error, without the offending text."""
    lineno = getattr(exc, "lineno", None)
    if lineno is None and getattr(exc, "errors", None):
        lineno = exc.errors[0][0]
    if isinstance(exc, (configparser.DuplicateOptionError, configparser.DuplicateSectionError)):
        what = getattr(exc, "option", None) or getattr(exc, "section", None)
        return f" (line {lineno}: {what!r} appears twice)"
    return f" (line {lineno})" if lineno else ""
