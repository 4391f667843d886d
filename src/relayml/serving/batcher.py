"""Adaptive micro-batching: concurrent requests to one model share one predict call.

A request is queued; the batcher's loop takes everything queued (up to ``max_rows`` rows) and
runs the model once on it. A request that finds nothing else queued and no other request on
its way goes at once: a lone client never waits. When other requests are still being read or
parsed (``arriving``), the batch waits for them, at most ``max_wait`` seconds, and never past
``max_rows``. Under load the batch grows by itself: what arrives while the model runs is the
next batch. If a batch's predict call fails, its requests run one by one, so one bad request
never fails another's.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Arrivals:
    """Requests being read or parsed, not yet queued: shared by the batchers of a deployment,
    so a batch knows whether waiting can fill it."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class Batcher(Generic[Item, Result]):
    """Runs ``run(items) -> results`` (one result per item, in order) on batches of queued
    items, on the event loop's thread. ``size(item)`` is an item's row count."""

    def __init__(
        self,
        run: Callable[[list[Item]], list[Result]],
        size: Callable[[Item], int],
        *,
        max_rows: int,
        max_wait: float,
        arrivals: Arrivals,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._run = run
        self._size = size
        self.max_rows = max_rows
        self.max_wait = max_wait
        self.arrivals = arrivals
        self._on_batch = on_batch
        self._queue: deque[tuple[Item, asyncio.Future[Result]]] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def depth(self) -> int:
        """Requests queued now."""
        return len(self._queue)

    def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def submit(self, item: Item) -> Result:
        if self._closing or self._wakeup is None:
            raise RuntimeError("the batcher is closed")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._wakeup.set()
        return await future

    async def close(self) -> None:
        """Answer everything queued, then stop."""
        self._closing = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            await self._task

    async def _loop(self) -> None:
        assert self._wakeup is not None
        wakeup = self._wakeup
        queue = self._queue
        while True:
            if not queue:
                if self._closing:
                    return
                wakeup.clear()
                await wakeup.wait()
                continue
            # let the requests that are ready to run queue themselves first
            await asyncio.sleep(0)
            batch, rows = self._take(0, [])
            if rows < self.max_rows and self.arrivals.count > 0 and self.max_wait > 0:
                deadline = time.monotonic() + self.max_wait
                while rows < self.max_rows and self.arrivals.count > 0:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    wakeup.clear()
                    try:
                        await asyncio.wait_for(wakeup.wait(), left)
                    except TimeoutError:
                        break
                    batch, rows = self._take(rows, batch)
            self._answer(batch, rows)

    def _take(
        self, rows: int, batch: list[tuple[Item, asyncio.Future[Result]]]
    ) -> tuple[list[tuple[Item, asyncio.Future[Result]]], int]:
        queue = self._queue
        while queue:
            n = self._size(queue[0][0])
            if batch and rows + n > self.max_rows:
                break
            batch.append(queue.popleft())
            rows += n
        return batch, rows

    def _answer(self, batch: list[tuple[Item, asyncio.Future[Result]]], rows: int) -> None:
        if self._on_batch is not None:
            self._on_batch(rows)
        items = [item for item, _ in batch]
        try:
            results = self._run(items)
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0][1], exc)
                return
            for item, future in batch:  # one by one: only the request at fault fails
                try:
                    (result,) = self._run([item])
                except Exception as one:
                    _fail(future, one)
                else:
                    if not future.done():
                        future.set_result(result)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
