"""HTTP/1.1 with a pool of keep-alive connections (http.client), retries
and backoff. Shared by a client and every copy ``with_token`` makes."""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import select
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _errors

MAX_ANSWER = 64 << 20


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds retries. A 503 is retried for reads, decisions, PUT and
    DELETE; a non-idempotent write only on a 503 "not-caught-up" (the
    server answers it before it starts the write). Connection errors and
    timeouts are retried for idempotent calls only. Waits are full jitter
    over ``base_delay * 2**(attempt-1)``, capped at ``max_delay``, and at
    least the server's Retry-After (a Retry-After beyond ``max_delay`` ends
    the retries). ``max_attempts=1`` disables retries."""

    max_attempts: int = 4
    base_delay: float = 0.1
    max_delay: float = 2.0


class Transport:
    """A thread-safe pool of connections to one server."""

    def __init__(self, base_url: str, *, timeout: float, retry: RetryPolicy, user_agent: str,
                 ssl_context: Optional[ssl.SSLContext] = None, max_idle: int = 16) -> None:
        u = urllib.parse.urlsplit(base_url.rstrip("/"))
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"gatehouse: the server URL must be http:// or https:// with a host (got {base_url!r})")
        self.base_url = f"{u.scheme}://{u.netloc}{u.path}"
        self._https = u.scheme == "https"
        self._host, self._port = u.hostname, u.port
        self._prefix = u.path
        self._ssl = ssl_context
        self.timeout = timeout
        self.retry = retry
        self.user_agent = user_agent
        self._idle: List[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._max_idle = max_idle
        self.sleep: Callable[[float], None] = time.sleep  # replaced in tests

    def _new(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout, context=self._ssl)
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def _get(self) -> Tuple[http.client.HTTPConnection, bool]:
        """An idle connection the server has not closed, else a new one.
        The server closes idle connections (after 120s); one it closed is
        readable (EOF) and is dropped here, so that even a write, which is
        never sent twice, does not meet a dead connection."""
        while True:
            with self._lock:
                if not self._idle:
                    return self._new(), False
                c = self._idle.pop()
            if c.sock is not None and not _readable(c.sock):
                return c, True
            c.close()

    def _put(self, c: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(c)
                return
        c.close()

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for c in idle:
            c.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def _once(self, method: str, target: str, body: Optional[bytes], headers: Dict[str, str],
              idempotent: bool) -> Tuple[int, Dict[str, str], bytes]:
        """One exchange. An idempotent request on a reused keep-alive
        connection that the server closed meanwhile is sent once more on a
        fresh connection (a write is not: the server may have seen it)."""
        for fresh_try in (False, True):
            if fresh_try:
                conn, reused = self._new(), False
            else:
                conn, reused = self._get()
            try:
                conn.request(method, target, body=body, headers=headers)
                res = conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest):
                conn.close()
                if reused and idempotent:
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            try:
                data = res.read(MAX_ANSWER + 1)
            except BaseException:
                conn.close()
                raise
            if len(data) > MAX_ANSWER:
                conn.close()
                raise _errors.DecodeError(f"gatehouse: {method} {target}: the answer is larger than {MAX_ANSWER} bytes")
            hdrs = {k.lower(): v for k, v in res.getheaders()}
            if res.will_close:
                conn.close()
            else:
                self._put(conn)
            return res.status, hdrs, data
        raise AssertionError("unreachable")

    def call(self, method: str, path: str, *, query: Optional[Dict[str, Any]] = None, body: Any = None,
             token: Optional[str] = None, idempotent: bool = True, headers: Optional[Dict[str, str]] = None
             ) -> Tuple[int, Dict[str, str], bytes]:
        """Send a request with retries; return the final (status, headers,
        body). Raises TransportError when no answer came."""
        target = self._prefix + path
        if query:
            q = {k: v for k, v in query.items() if v is not None and v != ""}
            if q:
                target += "?" + urllib.parse.urlencode(q, doseq=True)
        payload = None
        h = {"Accept": "application/json, application/problem+json", "User-Agent": self.user_agent}
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode()
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        if headers:
            h.update(headers)
        attempt = 0
        while True:
            attempt += 1
            try:
                status, rh, data = self._once(method, target, payload, h, idempotent)
            except (OSError, http.client.HTTPException) as e:
                err: _errors.TransportError
                if isinstance(e, (socket.timeout, TimeoutError)):
                    err = _errors.Timeout(f"gatehouse: {method} {path}: timed out after {self.timeout}s")
                else:
                    err = _errors.TransportError(f"gatehouse: {method} {path}: {e.__class__.__name__}: {e}")
                if not idempotent or attempt >= self.retry.max_attempts:
                    raise err from e
                wait = self._backoff(attempt, None)
                if wait is None:
                    raise err from e
                self.sleep(wait)
                continue
            if status != 503 or attempt >= self.retry.max_attempts or not _retryable(idempotent, rh, data):
                return status, rh, data
            wait = self._backoff(attempt, rh.get("retry-after"))
            if wait is None:
                return status, rh, data
            self.sleep(wait)

    def _backoff(self, attempt: int, retry_after: Optional[str]) -> Optional[float]:
        ceil = min(self.retry.base_delay * (2 ** min(attempt - 1, 30)), self.retry.max_delay)
        wait = random.uniform(0, ceil)
        ra = parse_retry_after(retry_after)
        if ra is not None:
            if ra > self.retry.max_delay:
                return None
            wait = max(wait, ra)
        return wait


def _readable(sock: Any) -> bool:
    """Whether an idle socket has something to read: EOF or bytes nobody
    asked for; either way it cannot carry a new request."""
    try:
        r, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(r)


def _retryable(idempotent: bool, headers: Dict[str, str], body: bytes) -> bool:
    if idempotent:
        return True
    if not headers.get("content-type", "").startswith("application/problem+json"):
        return False
    try:
        p = json.loads(body)
    except ValueError:
        return False
    return isinstance(p, dict) and p.get("type") == _errors.PROBLEM_BASE + "not-caught-up"


def parse_retry_after(h: Optional[str]) -> Optional[float]:
    """Retry-After in seconds, or as an HTTP date; None when absent or
    unreadable."""
    if not h:
        return None
    h = h.strip()
    if h.isdigit():
        return float(int(h))
    try:
        t = email.utils.parsedate_to_datetime(h)
    except (TypeError, ValueError):
        return None
    return max(0.0, t.timestamp() - time.time())
