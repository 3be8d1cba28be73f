"""Password hashing with argon2id: cost set by configuration, and a bounded number of hashes at a time."""

import math
import random
import secrets
import threading
import time
from collections import deque
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

#: Digits only, so an older trainee can read it off a slip and type it on a phone keypad.
ONE_TIME_CODE_DIGITS = 8


class HashingBusy(Exception):
    """Every hashing slot stayed taken for the bounded wait: ask the client to come back later."""

    def __init__(self, retry_after: int):
        super().__init__(f"password hashing is busy; retry after {retry_after} s")
        #: Whole seconds, for the Retry-After header and the message people read.
        self.retry_after = retry_after


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["PASSWORD_HASH_TIME_COST"],
        memory_cost=config["PASSWORD_HASH_MEMORY_KIB"],
        parallelism=config["PASSWORD_HASH_PARALLELISM"],
    )


class HashingSlots:
    """A bounded number of argon2 computations at a time in this process, and a bounded queue for them.

    Every login costs one hash (tens of milliseconds of one core, and its memory cost in RAM);
    a class logging in together must queue for the cores instead of all hashing at once. A login
    that finds every slot taken waits at most wait_s; one that finds max_waiting logins already
    waiting does not wait at all, so that logins never hold every thread of a worker and the
    rest of the site keeps answering. Either is answered "come back in N seconds" rather than
    left to time out on the phone while its hash still runs. Reentrant per thread, so a login's
    verify and its rehash share one slot.
    """

    #: Seconds over which logins turned away count as the crowd that will come back.
    RECENT_S = 10.0

    def __init__(self, slots: int, wait_s: float, max_waiting: int | None = None):
        self.slots = max(1, int(slots))
        self.wait_s = wait_s
        self.max_waiting = self.slots * 4 if max_waiting is None else max(0, int(max_waiting))
        self._semaphore = threading.BoundedSemaphore(self.slots)
        self._held = threading.local()
        self._lock = threading.Lock()
        self._waiting = 0
        self._turned_away: deque[float] = deque(maxlen=100_000)
        #: Moving average of one hold of a slot, seconds; starts at a guess for OWASP-level argon2.
        self._mean_hold_s = 0.05

    @contextmanager
    def hold(self):
        """Hold one slot for the block; raise HashingBusy if none comes free in time."""
        depth = getattr(self._held, "depth", 0)
        if depth:
            self._held.depth = depth + 1
            try:
                yield
            finally:
                self._held.depth = depth
            return
        if not self._semaphore.acquire(blocking=False):
            with self._lock:
                full = self._waiting >= self.max_waiting
                if not full:
                    self._waiting += 1
            if full:
                raise self._busy()
            try:
                acquired = self._semaphore.acquire(timeout=self.wait_s)
            finally:
                with self._lock:
                    self._waiting -= 1
            if not acquired:
                raise self._busy()
        self._held.depth = 1
        started = time.perf_counter()
        try:
            yield
        finally:
            self._held.depth = 0
            held = time.perf_counter() - started
            with self._lock:
                self._mean_hold_s = 0.8 * self._mean_hold_s + 0.2 * held
            self._semaphore.release()

    def _busy(self) -> HashingBusy:
        now = time.monotonic()
        with self._lock:
            self._turned_away.append(now)
            while self._turned_away[0] < now - self.RECENT_S:
                self._turned_away.popleft()
            crowd = self._waiting + len(self._turned_away)
        return HashingBusy(self.retry_after(crowd))

    def retry_after(self, crowd: int) -> int:
        """Return the seconds this crowd (waiting, and recently turned away) needs, plus a random spread.

        The spread, up to half as much again, keeps a class that was turned away together from
        coming back together. At most 30 s: longer, and people stop waiting for the page.
        """
        drain = crowd * self._mean_hold_s / self.slots
        base = min(30, max(2, math.ceil(drain)))
        return base + random.randint(0, max(1, base // 2))  # noqa: S311 - spreading retries, not a secret


def hashing_slots() -> HashingSlots:
    """Return this process's hashing slots, made on first use from the app's settings."""
    slots = current_app.extensions.get("lms_hashing_slots")
    if slots is None:
        with _SLOTS_LOCK:
            slots = current_app.extensions.get("lms_hashing_slots")
            if slots is None:
                config = current_app.config
                slots = current_app.extensions["lms_hashing_slots"] = HashingSlots(
                    config["PASSWORD_HASH_SLOTS"], config["PASSWORD_HASH_WAIT_S"], config["PASSWORD_HASH_MAX_WAITING"])
    return slots


_SLOTS_LOCK = threading.Lock()


def password_hashing():
    """Hold a hashing slot for a block that hashes once or more (raise HashingBusy when none comes free)."""
    return hashing_slots().hold()


def hash_password(password: str) -> str:
    """Return an argon2id hash of the password."""
    with password_hashing():
        return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return True if the password matches the hash (made with any cost: the hash says which)."""
    if not password_hash:
        return False
    with password_hashing():
        try:
            return _hasher().verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def needs_rehash(password_hash: str) -> bool:
    """Return True if the hash was made with other settings than today's (an older, costlier default too)."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def burn_hash_time(password: str) -> None:
    """Spend the time of one verification, so unknown phones answer as slowly as known ones."""
    verify_password(_dummy_hash(), password)


_DUMMY: dict[tuple, str] = {}


def _dummy_hash() -> str:
    config = current_app.config
    key = (config["PASSWORD_HASH_TIME_COST"], config["PASSWORD_HASH_MEMORY_KIB"], config["PASSWORD_HASH_PARALLELISM"])
    if key not in _DUMMY:
        _DUMMY[key] = hash_password(secrets.token_hex(16))
    return _DUMMY[key]


def make_one_time_code() -> str:
    """Return a random numeric code for a password reset or first activation."""
    return "".join(secrets.choice("0123456789") for _ in range(ONE_TIME_CODE_DIGITS))
