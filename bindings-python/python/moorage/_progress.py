"""Progress as an async iterator: the events a ``Cluster.a_*`` or ``Fleet.a_*`` coroutine sends to its
``on_progress`` callback, delivered to ``async for`` (the core runs the operation; this only queues)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, Optional, TypeVar

if TYPE_CHECKING:
    import asyncio  # imported when iterated: `import moorage` stays free of asyncio's ~50 ms

T = TypeVar("T")
_DONE = object()


class Watch(Generic[T]):
    """``async for event in moorage.watch(lambda on_progress: cluster.a_rollout(t, r, on_progress=on_progress))``.

    Each event is the dict the callback would get. The iteration ends when the operation ends; its
    result is then ``.result``, and its exception (e.g. ``moorage.QuotaInsufficient``) is raised by
    the iteration itself, after the events sent before it.
    """

    def __init__(self, start: Callable[[Callable[[dict[str, Any]], None]], Awaitable[T]]) -> None:
        self._start = start
        self._queue: Optional[asyncio.Queue[object]] = None
        self._task: Optional[asyncio.Future[T]] = None
        self.result: Optional[T] = None

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._task is None:
            import asyncio

            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[object] = asyncio.Queue()
            self._queue = queue

            def push(event: dict[str, Any]) -> None:
                # Called from the core's threads: hand the event to this loop.
                loop.call_soon_threadsafe(queue.put_nowait, event)

            self._task = asyncio.ensure_future(self._start(push))
            self._task.add_done_callback(lambda _: loop.call_soon_threadsafe(queue.put_nowait, _DONE))
        assert self._queue is not None and self._task is not None
        item = await self._queue.get()
        if item is _DONE:
            self.result = self._task.result()  # raises the operation's exception, if any
            raise StopAsyncIteration
        assert isinstance(item, dict)
        return item


def watch(start: Callable[[Callable[[dict[str, Any]], None]], Awaitable[T]]) -> Watch[T]:
    """The progress of the operation ``start(on_progress)`` starts, as an async iterator."""
    return Watch(start)
