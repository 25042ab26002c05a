"""Settings read from the environment (prefix SUPERVISION_) when a composition root starts."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUPERVISION_", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{PROJECT_ROOT / 'var' / 'supervision.db'}")
    data_dir: Path = PROJECT_ROOT / "data"
    storage_dir: Path = PROJECT_ROOT / "var" / "files"
    secret_key: str = "dev-only-change-me"
    token_ttl_hours: int = 12
    authority_name: str = "昌吉市市场监督管理局"
    authority_region: str = "652301"
    # The portal's public address: absolute links in the Atom feed and open-data files are
    # built from it, never from a request's Host header.
    public_url: str = "http://127.0.0.1:8000"
    # Upper bound on the number of bad rows an import error report lists.
    import_error_cap: int = 200
    upload_max_bytes: int = 200 * 1024 * 1024
    # Run the daily jobs inside the web process (make run); at scale run `supervision scheduler`.
    embedded_scheduler: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()
