"""Leases: at most one dispatcher sends on a channel at a time, across any number of processes and machines.

A lease is a row (models.notification.DispatcherLease) taken with one conditional UPDATE, so the same code works on
SQLite and PostgreSQL (no advisory lock needed): the holder renews it while it works; a holder that died loses it
when it expires."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from models.notification import DispatcherLease
from service.db import session_scope


class Leases:
    def __init__(self, *, engine: Engine, owner: str, seconds: float, clock: Callable[[], datetime]):
        self.engine, self.owner, self.seconds, self.clock = engine, owner, seconds, clock
        self._until: dict[str, datetime] = {}      # what we believe we hold, to renew only at half-life

    def hold(self, name: str) -> bool:
        """True when this owner holds `name` now (acquired, renewed, or still comfortably valid)."""
        now = self.clock()
        until = self._until.get(name)
        if until is not None and until - now > timedelta(seconds=self.seconds / 2):
            return True
        ok = self._take(name, now)
        if ok:
            self._until[name] = now + timedelta(seconds=self.seconds)
        else:
            self._until.pop(name, None)
        return ok

    def _take(self, name: str, now: datetime) -> bool:
        expires = now + timedelta(seconds=self.seconds)
        try:
            with session_scope(self.engine) as s:
                res = s.exec(update(DispatcherLease)
                             .where(DispatcherLease.name == name,
                                    or_(DispatcherLease.owner == self.owner, DispatcherLease.expires_at < now))
                             .values(owner=self.owner, expires_at=expires))
                if res.rowcount == 1:
                    return True
                if s.get(DispatcherLease, name) is not None:
                    return False
                s.add(DispatcherLease(name=name, owner=self.owner, expires_at=expires, acquired_at=now))
            return True
        except (IntegrityError, OperationalError):
            return False    # another process inserted it first, or the database is busy: try again next cycle

    def release_all(self) -> None:
        """Let another process take over at once (on shutdown)."""
        if not self._until:
            return
        with session_scope(self.engine) as s:
            s.exec(update(DispatcherLease).where(DispatcherLease.owner == self.owner,
                                                 DispatcherLease.name.in_(list(self._until)))
                   .values(expires_at=self.clock() - timedelta(seconds=1)))
        self._until.clear()
