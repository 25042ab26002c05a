"""Settings read from the environment (prefix SUPERVISION_) when a composition root starts."""

import os
import secrets
import time
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from supervision.errors import Invalid

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUPERVISION_", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{PROJECT_ROOT / 'var' / 'supervision.db'}")
    data_dir: Path = PROJECT_ROOT / "data"
    storage_dir: Path = PROJECT_ROOT / "var" / "files"
    # Signs the forms' CSRF tokens. Empty: a random secret generated on the first run and kept
    # in `secret_file` (mode 0600). A configured one must be long and random.
    secret_key: str = ""
    secret_file: Path | None = None  # default: beside the stored files (var/secret_key)
    token_ttl_hours: int = 12
    # Sign-in throttle: this many failures for one account name, or from one address, within
    # the window lock it out until the window has passed (429, the wait said in Chinese).
    login_max_failures: int = 10
    login_max_failures_per_address: int = 30
    login_window_minutes: int = 15
    authority_name: str = "昌吉市市场监督管理局"
    authority_region: str = "652301"
    # The portal's public address: absolute links in the Atom feed and open-data files are
    # built from it, never from a request's Host header.
    public_url: str = "http://127.0.0.1:8000"
    # Host names a request may address (the Host header); others get 400. Empty: the public
    # address's host and the loopback names.
    allowed_hosts: list[str] = []
    # Upper bound on the number of bad rows an import error report lists.
    import_error_cap: int = 200
    upload_max_bytes: int = 200 * 1024 * 1024
    # The public downloads that cost real time (a draw's bundle, PDFs and files, open data):
    # at most this many per source address in a sliding minute, per worker (0: no limit).
    public_downloads_per_minute: int = 120
    # Every other request body (forms, JSON): refused past this while it streams.
    body_max_bytes: int = 2 * 1024 * 1024
    # Run the daily jobs inside the web process (make run); at scale run `supervision scheduler`.
    embedded_scheduler: bool = False
    # Ceremonies: a commitment is public at least this long before the announced ceremony;
    # entropy entered later than the grace period after it needs a reason, published.
    ceremony_notice_hours: float = Field(default=24, ge=0)
    ceremony_grace_hours: float = Field(default=2, ge=0)
    # Beacon draws: a drand-compatible HTTP endpoint (`{endpoint}/{chain hash}/public/{round}`).
    beacon_endpoint: str = "https://api.drand.sh"
    beacon_timeout_seconds: float = Field(default=10, gt=0)
    # The scheduler: how often the leader records that it is alive (and ticks the ceremony
    # jobs); how far back a slot missed during downtime is still caught up (once).
    scheduler_tick_seconds: int = Field(default=60, ge=1, le=3600)
    scheduler_catch_up_hours: float = Field(default=12, ge=0)
    # Inbox messages also go out by e-mail when an SMTP server is configured.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_sender: str = "supervision@localhost"


@lru_cache
def get_settings() -> Settings:
    return Settings()


# Values that were shipped as defaults somewhere, or are too short to be secret: refused.
WEAK_SECRETS = {"dev-only-change-me", "changeme", "secret", "password"}
MIN_SECRET_LENGTH = 32


def resolve_secret(settings: Settings) -> str:
    """The secret the app signs with: the configured one (refused when weak), or the one
    generated on the first run under ``var/`` (created with mode 0600, then read back)."""
    if settings.secret_key:
        if settings.secret_key in WEAK_SECRETS or len(settings.secret_key) < MIN_SECRET_LENGTH:
            raise Invalid(
                f"SUPERVISION_SECRET_KEY 过短或为公开的默认值：须为至少{MIN_SECRET_LENGTH}个字符的随机串"
                "（或不设置，由系统在首次运行时生成）",
                f"SUPERVISION_SECRET_KEY is a known default or shorter than {MIN_SECRET_LENGTH} "
                "characters (leave it unset to have one generated)",
            )
        return settings.secret_key
    path = settings.secret_file or settings.storage_dir.parent / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    for _ in range(100):  # another worker may be writing it this instant
        secret = path.read_text().strip()
        if len(secret) >= MIN_SECRET_LENGTH:
            break
        time.sleep(0.01)
    if len(secret) < MIN_SECRET_LENGTH:
        raise Invalid(f"密钥文件 {path} 内容无效", f"the secret file {path} is invalid")
    return secret


def allowed_hosts(settings: Settings) -> list[str]:
    """The Host header values the app answers (`allowed_hosts`, or the public URL's host and
    the loopback names)."""
    if settings.allowed_hosts:
        return list(settings.allowed_hosts)
    public = urlsplit(settings.public_url).hostname or "127.0.0.1"
    return sorted({public, "127.0.0.1", "localhost", "[::1]"})
