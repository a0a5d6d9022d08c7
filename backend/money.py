"""Money: an integer number of fen everywhere it is stored or sent (API.md); yuan only where people read
or type it. One place for both directions, so the care and hardship pages cannot disagree."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MAX_YUAN = Decimal(100_000_000)  # no amount a union handles comes near ¥100 million


def yuan(fen: int | None) -> str:
    """The amount as staff read it: 150000 → "1,500.00"; none → "—"."""
    return "—" if fen is None else f"{fen / 100:,.2f}"


def yuan_input(fen: int | None) -> str:
    """The amount as a form shows it for editing: 30000 → "300", 29950 → "299.50", none → ""."""
    if fen is None:
        return ""
    return f"{fen // 100}" if fen % 100 == 0 else f"{fen / 100:.2f}"


def parse_yuan(text: str | None) -> int | None:
    """A yuan amount typed into a form, in fen; None when left empty. ValueError for anything that is
    not a plain non-negative amount with at most two decimals ("1e3", "-5", "1.234", "NaN")."""
    text = (text or "").strip().replace(",", "").replace("，", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if (
        not value.is_finite()
        or value < 0
        or value >= MAX_YUAN
        or value != round(value, 2)
        or "e" in text.lower()
    ):
        raise ValueError(text)
    return int(value * 100)
