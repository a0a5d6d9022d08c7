"""backend/money.py: the one conversion between the fen that is stored and the yuan that people read."""

import pytest

from backend.money import parse_yuan, yuan, yuan_input


def test_yuan_reads_with_thousands_and_two_decimals():
    assert yuan(150000) == "1,500.00"
    assert yuan(5) == "0.05"
    assert yuan(None) == "—"


def test_yuan_input_shows_whole_yuan_without_decimals():
    assert yuan_input(30000) == "300"
    assert yuan_input(29950) == "299.50"
    assert yuan_input(None) == ""


@pytest.mark.parametrize(
    ("text", "fen"), [("300", 30000), ("299.5", 29950), (" 1,500.00 ", 150000), ("0", 0), ("", None)]
)
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["-5", "1.234", "1e3", "NaN", "Infinity", "abc", "100000000"])
def test_parse_yuan_refuses_what_is_not_a_plain_amount(text):
    with pytest.raises(ValueError):
        parse_yuan(text)
