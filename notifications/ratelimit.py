"""Per-robot rate limit: DingTalk allows 20 messages a minute per robot and throttles a robot for 10 minutes
when it sees more.

A classic refilling token bucket (capacity 20, 20 tokens/minute) would allow a burst of 20 and then 20 more
within the same 60 seconds — up to 40 in one minute window. Here a token comes back exactly one window after it
was spent (a sliding log), so no window of `window` seconds ever holds more than `limit` sends. On taking over a
channel the log is seeded from the sends the database recorded, so a lease moving between processes cannot
double the rate either."""
from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta


class RateLimiter:
    def __init__(self, *, limit: int, window_seconds: float):
        self.limit = limit
        self.window = timedelta(seconds=window_seconds)
        self._log: dict[str, deque[datetime]] = {}

    def seed(self, key: str, times: list[datetime]) -> None:
        self._log[key] = deque(sorted(times))

    def seeded(self, key: str) -> bool:
        return key in self._log

    def _trim(self, key: str, now: datetime) -> deque[datetime]:
        q = self._log.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def allow(self, key: str, now: datetime) -> bool:
        return len(self._trim(key, now)) < self.limit

    def spend(self, key: str, now: datetime) -> None:
        self._trim(key, now).append(now)

    def next_free(self, key: str, now: datetime) -> datetime:
        q = self._trim(key, now)
        return now if len(q) < self.limit else q[0] + self.window

    def forget(self, key: str) -> None:
        self._log.pop(key, None)
