"""The outbox dispatcher: routes pending rows, folds III/IV into digests, and sends, per channel, in order.

Per channel: one sender across all processes (a lease), strict outbox order on ordered channels (a failed head
waits for its retry; nothing overtakes it), a rate limit on robots, exponential backoff with jitter, and a dead
state after N attempts. A configuration error (310000 / 300001) kills that message at once and pauses the channel
for `notify_config_pause_seconds` — one probe per pause instead of a retry storm — and shows on the admin page."""
from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from datetime import datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import OutboxMessage, OutboxStatus
from models.base import utcnow
from models.notification import ChannelStatus
from notifications.channels.base import Channel, SendResult
from notifications.leases import Leases
from notifications.ratelimit import RateLimiter
from notifications.render import RenderContext, RenderError, render
from notifications.routing import DIGEST_PREFIX, route_pending
from notifications.settings import NotifySettings, in_quiet_hours
from service.db import session_scope

log = logging.getLogger("aew.notify")
TOO_FAST = 130101
ROUTER_LEASE = "_router"


def backoff_delay(attempts: int, *, base: float, cap: float, retry_after: float | None = None,
                  rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with equal jitter: half the delay fixed, half random; never less than retry_after."""
    delay = min(cap, base * (2 ** max(attempts - 1, 0)))
    delay = delay / 2 + rng() * delay / 2
    return max(delay, retry_after or 0.0)


class Dispatcher:
    """Drains the outbox. Any number may run (one per process); leases divide the channels between them."""

    def __init__(self, *, engine: Engine, channels: dict[str, Channel], notify: NotifySettings, ctx: RenderContext,
                 default_channel: str, clock: Callable[[], datetime] = utcnow, owner: str | None = None,
                 rng: Callable[[], float] = random.random, metrics=None):
        self.engine, self.channels, self.notify, self.ctx = engine, channels, notify, ctx
        self.default_channel = default_channel
        self.clock, self.rng, self.metrics = clock, rng, metrics
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.leases = Leases(engine=engine, owner=self.owner, seconds=notify.notify_lease_seconds, clock=clock)
        self.limiter = RateLimiter(limit=notify.notify_rate_limit, window_seconds=notify.notify_rate_window_seconds)

    # ---- routing and digests -------------------------------------------------------------------------------
    def resolve_channel(self, target: str) -> str:
        """A rule's target, or the log channel when that target is not configured in this deployment."""
        if target in self.channels:
            return target
        log.warning("notification target not configured, using the log channel", extra={"target": target})
        return "log"

    def route(self) -> int:
        with session_scope(self.engine) as s:
            return route_pending(session=s, resolve_channel=self.resolve_channel, default_channel=self.default_channel)

    def flush_digests(self) -> int:
        """Fold the rows waiting in each digest channel into one digest row, when one is due."""
        now = self.clock()
        quiet = in_quiet_hours(now.astimezone(ZoneInfo(self.ctx.timezone)).time(), self.notify.quiet_hours())
        if quiet:
            return 0
        interval = timedelta(minutes=self.notify.notify_digest_minutes)
        made = 0
        with session_scope(self.engine) as s:
            waiting = s.exec(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.pending,
                                                         OutboxMessage.channel.startswith(DIGEST_PREFIX))
                             .order_by(OutboxMessage.id)).all()
            groups: dict[tuple[str, tuple[int, ...]], list[OutboxMessage]] = {}
            for row in waiting:
                groups.setdefault((row.channel, tuple(sorted(row.payload.get("user_ids") or []))), []).append(row)
            for (dchannel, user_ids), rows in groups.items():
                st = s.get(ChannelStatus, dchannel) or ChannelStatus(channel=dchannel)
                oldest = min(r.created_at for r in rows)
                if now - oldest < interval or (st.last_digest_at and now - st.last_digest_at < interval):
                    continue
                made += self._make_digests(s, dchannel, list(user_ids), rows, now)
                st.last_digest_at = now
                s.add(st)
        return made

    def _make_digests(self, s: Session, dchannel: str, user_ids: list[int], rows: list[OutboxMessage],
                      now: datetime) -> int:
        target = dchannel[len(DIGEST_PREFIX):]
        size = max(1, self.notify.notify_digest_max_events)
        made = 0
        for i in range(0, len(rows), size):
            chunk = rows[i:i + size]
            event_ids = sorted({r.event_id for r in chunk if r.event_id})
            key = f"digest:{target}:{chunk[0].id}-{chunk[-1].id}"[:200]
            payload = {"event_ids": event_ids, "source_ids": [r.id for r in chunk]}
            if user_ids:
                payload["user_ids"] = user_ids
            digest = OutboxMessage(topic="digest", channel=target, dedup_key=key, payload=payload, created_at=now,
                                   next_attempt_at=now)
            s.add(digest)
            s.flush()
            for r in chunk:
                r.status, r.sent_at = OutboxStatus.skipped, now
                r.payload = {**r.payload, "digest_id": digest.id}
                s.add(r)
            made += 1
        return made

    # ---- sending -----------------------------------------------------------------------------------------------
    def _status(self, s: Session, channel: Channel) -> ChannelStatus:
        st = s.get(ChannelStatus, channel.name)
        if st is None:
            st = ChannelStatus(channel=channel.name)
            s.add(st)
        return st

    def _paused(self, channel: Channel, now: datetime) -> bool:
        with session_scope(self.engine) as s:
            st = s.get(ChannelStatus, channel.name)
            if st is None or st.paused_until is None or st.paused_until <= now:
                return False
            if st.config_error and st.config_fingerprint and st.config_fingerprint != channel.fingerprint():
                st.paused_until, st.config_error = None, False       # the configuration changed: try again now
                s.add(st)
                return False
            return True

    def _seed_limiter(self, channel: Channel, now: datetime) -> None:
        since = now - timedelta(seconds=self.notify.notify_rate_window_seconds)
        with Session(self.engine) as s:
            times = s.exec(select(OutboxMessage.sent_at).where(OutboxMessage.channel == channel.name,
                                                               OutboxMessage.sent_at > since)).all()
        self.limiter.seed(channel.name, [t for t in times if t is not None])

    def drain(self, channel: Channel, batch: int = 50) -> int:
        """Send what is due on one channel; returns how many sends were attempted."""
        if not self.leases.hold(channel.name):
            self.limiter.forget(channel.name)        # someone else sends here; re-seed if we take over later
            return 0
        now = self.clock()
        if self._paused(channel, now):
            return 0
        if channel.rate_limited and not self.limiter.seeded(channel.name):
            self._seed_limiter(channel, now)
        with Session(self.engine) as s:
            rows = s.exec(select(OutboxMessage).where(OutboxMessage.channel == channel.name,
                                                      OutboxMessage.status == OutboxStatus.pending)
                          .order_by(OutboxMessage.id).limit(batch)).all()
        attempted = 0
        for row in rows:
            now = self.clock()
            if row.next_attempt_at > now:
                if channel.ordered:
                    break                             # the head waits for its retry; nothing overtakes it
                continue
            if channel.rate_limited and not self.limiter.allow(channel.name, now):
                break
            if not self.leases.hold(channel.name):
                break
            try:
                with Session(self.engine) as s:
                    message = render(s, self.ctx, row)
            except RenderError as e:
                self._record(row, channel, SendResult.failure(f"render: {e}", permanent=True))
                continue
            if channel.rate_limited:
                self.limiter.spend(channel.name, now)
            result = channel.send(message)
            attempted += 1
            self._record(row, channel, result)
            if not result.ok and channel.ordered:
                break
        return attempted

    def _record(self, row: OutboxMessage, channel: Channel, result: SendResult) -> None:
        now = self.clock()
        with session_scope(self.engine) as s:
            m = s.get(OutboxMessage, row.id)
            st = self._status(s, channel)
            if result.ok:
                m.status, m.sent_at, m.attempts = OutboxStatus.sent, now, m.attempts + 1
                m.last_errcode = 0
                st.last_ok_at, st.config_error, st.paused_until = now, False, None
            else:
                self._record_failure(m, st, channel, result, now)
            s.add(m)
            s.add(st)
        if self.metrics is not None:
            self.metrics.observe(channel.name, "sent" if result.ok else ("dead" if m.status == OutboxStatus.dead
                                                                          else "retry"))
        if not result.ok:
            log.warning("notification not delivered", extra={
                "outbox_id": m.id, "channel": channel.name, "errcode": result.errcode, "error": result.errmsg,
                "attempts": m.attempts, "status": m.status.value})

    def _record_failure(self, m: OutboxMessage, st: ChannelStatus, channel: Channel, result: SendResult,
                        now: datetime) -> None:
        m.last_error = f"{result.errcode if result.errcode is not None else ''} {result.errmsg}".strip()[:2000]
        m.last_errcode = result.errcode if result.errcode is not None else result.status_code
        st.last_error_at, st.last_errcode, st.last_error = now, m.last_errcode, m.last_error
        if result.errcode == TOO_FAST:                 # the channel's fault, not the message's: pause, don't count
            st.paused_until = now + timedelta(seconds=result.retry_after or self.notify.notify_rate_window_seconds)
            m.next_attempt_at = st.paused_until
            return
        m.attempts += 1
        if result.config_error:
            st.config_error, st.config_fingerprint = True, channel.fingerprint()
            st.paused_until = now + timedelta(seconds=self.notify.notify_config_pause_seconds)
        if result.permanent or m.attempts >= self.notify.notify_max_attempts:
            m.status = OutboxStatus.dead
            return
        m.next_attempt_at = now + timedelta(seconds=backoff_delay(
            m.attempts, base=self.notify.notify_backoff_seconds, cap=self.notify.notify_backoff_max_seconds,
            retry_after=result.retry_after, rng=self.rng))

    # ---- loop ----------------------------------------------------------------------------------------------
    def run_once(self) -> int:
        """One pass: route, digests (by the holder of the router lease), then every channel. Returns work done."""
        work = 0
        if self.leases.hold(ROUTER_LEASE):
            work += self.route()
            work += self.flush_digests()
        with Session(self.engine) as s:
            busy = set(s.exec(select(OutboxMessage.channel).where(OutboxMessage.status == OutboxStatus.pending)
                              .distinct()).all())
        for name, channel in self.channels.items():
            if name in busy:
                work += self.drain(channel)
        return work

    def run_forever(self, stop: threading.Event) -> None:
        log.info("notification dispatcher started",
                 extra={"owner": self.owner, "channels": ",".join(sorted(self.channels))})
        while not stop.is_set():
            try:
                work = self.run_once()
            except Exception as e:  # noqa: BLE001 — e.g. the database briefly unreachable: log, wait, go on
                log.error("dispatcher loop error", extra={"error": repr(e)})
                work = 0
                stop.wait(2.0)
            if not work:
                stop.wait(self.notify.notify_poll_seconds)
        try:
            self.leases.release_all()
        except Exception as e:  # noqa: BLE001
            log.warning("could not release dispatcher leases", extra={"error": repr(e)})
        for ch in self.channels.values():
            ch.close()
        log.info("notification dispatcher stopped", extra={"owner": self.owner})
