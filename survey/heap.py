"""The garbage collector and a run's large heap.

CPython's full (generation 2) collection visits every tracked container, and a NumPy array of dtype object
visits each of its elements: with a 1M-respondent wave in memory one full collection took 0.12–0.14 s, and
a run makes several (imports make many objects; measured at 1M: 7 full collections, 0.49 s, two of them
while the report's modules were imported). :func:`freeze_heap` moves the objects that exist at its start
to the collector's permanent generation (:func:`gc.freeze`, Python ≥ 3.7) for the duration of a block:
its collections then walk only the objects made inside the block, which are collected as before. Objects
made before are still freed by reference counting; only cycles among them wait for the end of the block.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def freeze_heap() -> Callable[[], None]:
    """The objects that exist now frozen for the garbage collector (``gc.freeze``); returns the function
    that thaws them (``gc.unfreeze``). Inside another freeze it freezes the objects made since that one
    began and leaves the thaw to it (the returned function does nothing); with the collector disabled it
    does nothing. The freeze is the process's: a freeze in another thread that ends first thaws these
    objects too, which only makes the collections slower again."""
    if not gc.isenabled():
        return lambda: None
    outer = gc.get_freeze_count() > 0
    gc.freeze()
    return (lambda: None) if outer else gc.unfreeze


@contextmanager
def frozen_heap() -> Iterator[None]:
    """:func:`freeze_heap` for the duration of a block."""
    thaw = freeze_heap()
    try:
        yield
    finally:
        thaw()


def heap_frozen(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` run inside :func:`frozen_heap`."""

    @functools.wraps(fn)
    def frozen(*args: P.args, **kwargs: P.kwargs) -> R:
        with frozen_heap():
            return fn(*args, **kwargs)

    return frozen
