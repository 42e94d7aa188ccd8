"""All settings come from the environment (prefix AEW_); nothing is read at import time."""
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_DATA_DIR = Path(__file__).resolve().parent.parent / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AEW_", extra="ignore")

    # core
    database_url: str = "sqlite:///./var/aew.db"
    data_dir: Path = REPO_DATA_DIR
    log_level: str = "INFO"
    log_json: bool = True
    public_base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Shanghai"      # the hospital's local time: EMR times without an offset
    secret_key: str = Field(default="", description="signs session cookies; generated into ./var when empty")
    session_cookie_secure: bool | None = None   # None: Secure when public_base_url is https

    # accounts and sessions
    session_idle_minutes: float = 30.0          # a web session unused this long ends
    session_absolute_hours: float = 12.0        # and any web session ends this long after the login
    login_max_attempts: int = 5                 # wrong passwords per user name (known or not) before the lock
    login_lock_minutes: float = 15.0            # the lock, and the window the attempts are counted in
    login_ip_max_attempts: int = 30             # wrong passwords per client address in the same window
    password_min_length: int = 10
    password_min_classes: int = 3               # of: lower case, upper case, digits, other characters

    # ingest limits
    max_note_chars: int = 100_000
    max_batch: int = 500
    max_body_bytes: int = 20 * 1024 * 1024

    # worker
    scan_workers: int = Field(default=1, ge=0)  # scan worker processes `aew serve` starts and restarts (0: none)
    worker_threads: int = 1                     # scan threads in each worker process
    worker_batch: int = 8
    worker_poll_seconds: float = 0.2
    job_max_attempts: int = 5
    job_lease_seconds: int = 300
    job_backoff_seconds: float = 2.0
    scan_time_limit_seconds: float = 300.0     # a note still scanning after this ends `failed` (no retry)
    history_notes: int = 20

    # queue
    merge_window_hours: float = 72.0
    deadline_hours_i: float = 2.0
    deadline_hours_ii: float = 12.0
    deadline_hours_iii: float = 72.0
    deadline_hours_iv: float = 72.0

    # NLP
    use_ner_model: bool = True
    use_classifier: bool = True

    def deadline_hours(self, severity: str) -> float:
        return {"I": self.deadline_hours_i, "II": self.deadline_hours_ii,
                "III": self.deadline_hours_iii}.get(severity, self.deadline_hours_iv)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
