"""A page of a list already in memory (a roster check's report), shaped like Flask-SQLAlchemy's
pagination so the same `pagination` macro (_macros.html) renders it. Flask-SQLAlchemy's own class is
built only by `db.paginate` over a query; its item hooks are private, so this does not subclass it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from math import ceil
from typing import Any


@dataclass(frozen=True)
class ListPage:
    everything: Sequence[Any]
    page: int
    per_page: int

    @property
    def items(self) -> list[Any]:
        start = (self.page - 1) * self.per_page
        return list(self.everything[start : start + self.per_page])

    @property
    def total(self) -> int:
        return len(self.everything)

    @property
    def pages(self) -> int:
        return ceil(self.total / self.per_page) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(
        self, *, left_edge: int = 2, left_current: int = 2, right_current: int = 4, right_edge: int = 2
    ) -> Iterator[int | None]:
        """Page numbers for the widget, None for a gap (the same numbers Flask-SQLAlchemy yields)."""
        pages_end = self.pages + 1
        if pages_end == 1:
            return
        left_end = min(1 + left_edge, pages_end)
        yield from range(1, left_end)
        if left_end == pages_end:
            return
        mid_start = max(left_end, self.page - left_current)
        mid_end = min(self.page + right_current + 1, pages_end)
        if mid_start - left_end > 0:
            yield None
        yield from range(mid_start, mid_end)
        if mid_end == pages_end:
            return
        right_start = max(mid_end, pages_end - right_edge)
        if right_start - mid_end > 0:
            yield None
        yield from range(right_start, pages_end)

    def __iter__(self) -> Iterator[Any]:
        yield from self.items
