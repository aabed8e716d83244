"""In-process caches of the hot read path (a rep's phone asking for its route), per server process.

* ``TokenCache``: who a bearer token stands for, for ``Settings.token_cache_s`` seconds
  (default 5). A token revoked through this process's API stops working at once; revoked
  anywhere else (another worker process, ``fieldroute token revoke``) it keeps working for
  at most that long. Only valid tokens are kept, so unknown ones cannot fill the cache.
* ``LRU``: rendered route answers, keyed by the version stamp of what they were made from
  (``plans.route_stamp``: the plan and the route row a request resolves to, read from the
  database on every request), so a newly published plan or a new route version is a new key
  and never meets an old answer.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from .auth import Principal


class LRU:
    """A thread-safe map of at most ``size`` entries; the least recently used go first."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            try:
                self._items.move_to_end(key)
            except KeyError:
                return default
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def discard_if(self, predicate) -> None:
        """Drop the entries whose value ``predicate`` holds for."""
        with self._lock:
            for key in [k for k, v in self._items.items() if predicate(v)]:
                del self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class TokenCache:
    """Principals by token hash for ``ttl_s`` seconds (0: no caching)."""

    def __init__(self, ttl_s: float, size: int = 10_000):
        self.ttl_s = ttl_s
        self._entries = LRU(size if ttl_s > 0 else 0)

    def get(self, token_hash: str) -> Principal | None:
        entry = self._entries.get(token_hash)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def put(self, token_hash: str, principal: Principal) -> None:
        self._entries.put(token_hash, (principal, time.monotonic() + self.ttl_s))

    def forget(self, token_id: int) -> None:
        """Drop a token (revoked through this process)."""
        self._entries.discard_if(lambda entry: entry[0].token_id == token_id)
