"""fit_template_data: values fitted to their field types are accepted by WeChat's rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.wechat.emulator import EmulatorControl, EmulatorServer
from backend.wechat.emulator.rules import value_is_valid
from backend.wechat.gateway import WechatError, WechatGateway, fit_template_data
from backend.wechat.template_data import field_type
from tests.backend.wechat.conftest import (
    ALL_TYPES_FIELDS,
    ALL_TYPES_TEMPLATE,
    APPID,
    NOTICE_TEMPLATE,
    SECRET,
)

TEXT_TYPES = ["thing", "phrase", "name", "character_string", "number", "letter", "symbol", "phone_number"]


def test_field_type_is_the_key_prefix() -> None:
    assert field_type("thing1") == "thing"
    assert field_type("character_string12") == "character_string"
    assert field_type("phone_number3") == "phone_number"
    with pytest.raises(ValueError):
        field_type("keyword1")


def test_fields_name_their_sources() -> None:
    fields = {"thing1": "title", "time2": "starts_at", "thing3": None}
    values = {"title": "篮球赛", "starts_at": datetime(2024, 5, 1, 1, 30, tzinfo=UTC), "thing3": "体育馆"}
    assert fit_template_data(fields, values) == {
        "thing1": "篮球赛",
        "time2": "2024-05-01 09:30",
        "thing3": "体育馆",
    }


def test_long_thing_is_cut_with_an_ellipsis_inside_the_limit() -> None:
    fitted = fit_template_data({"thing1": ""}, {"thing1": "工会" * 20})["thing1"]
    assert len(fitted) == 20
    assert fitted.endswith("…")
    assert value_is_valid("thing", fitted)


def test_empty_values_get_placeholders() -> None:
    fields = {"thing1": "", "phrase2": "", "name3": "", "character_string4": "", "symbol5": ""}
    fitted = fit_template_data(fields, {"thing1": "  ", "phrase2": None, "name3": "\n"})
    assert fitted == {
        "thing1": "无",
        "phrase2": "无",
        "name3": "无",
        "character_string4": "-",
        "symbol5": "-",
    }


def test_phrase_keeps_only_chinese_characters() -> None:
    assert fit_template_data({"phrase1": ""}, {"phrase1": "EMS已发货了哦!"})["phrase1"] == "已发货了哦"


def test_naive_datetimes_are_utc_and_shown_in_shanghai() -> None:
    fields = {"time1": "", "date2": ""}
    late_evening_utc = datetime(2024, 12, 31, 20, 0)
    assert fit_template_data(fields, {"time1": late_evening_utc, "date2": late_evening_utc}) == {
        "time1": "2025-01-01 04:00",
        "date2": "2025-01-01",
    }


def test_aware_datetimes_are_converted() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert fit_template_data({"time1": ""}, {"time1": datetime(2024, 1, 1, 10, 0, tzinfo=tokyo)}) == {
        "time1": "2024-01-01 09:00"
    }


def test_time_text_in_an_accepted_format_is_kept() -> None:
    assert fit_template_data({"time1": ""}, {"time1": "2019年10月1日 15:01"}) == {
        "time1": "2019年10月1日 15:01"
    }
    assert fit_template_data({"date1": ""}, {"date1": date(2024, 3, 8)}) == {"date1": "2024-03-08"}


def test_time_without_a_value_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        fit_template_data({"time1": ""}, {})
    with pytest.raises(ValueError):
        fit_template_data({"time1": ""}, {"time1": "下周"})


def test_amounts_in_yuan() -> None:
    fields = {"amount1": ""}
    assert fit_template_data(fields, {"amount1": Decimal("1")}) == {"amount1": "1.00元"}
    assert fit_template_data(fields, {"amount1": Decimal("1234.565")}) == {"amount1": "1234.57元"}
    assert fit_template_data(fields, {"amount1": 99999999.99}) == {"amount1": "99999999.99元"}
    assert fit_template_data(fields, {"amount1": Decimal("123456789.5")}) == {"amount1": "123456789元"}
    with pytest.raises(ValueError):
        fit_template_data(fields, {"amount1": Decimal("1e12")})


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(TEXT_TYPES), value=st.one_of(st.none(), st.text(), st.integers(), st.floats()))
def test_any_value_fitted_to_a_text_type_is_valid(kind: str, value: object) -> None:
    fitted = fit_template_data({f"{kind}1": ""}, {f"{kind}1": value})[f"{kind}1"]
    assert value_is_valid(kind, fitted), (kind, value, fitted)


@settings(max_examples=200, deadline=None)
@given(
    moment=st.one_of(
        st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 30)),
        st.datetimes(
            min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 30), timezones=st.timezones()
        ),
        st.dates(min_value=date(1900, 1, 2)),
    ),
    amount=st.decimals(min_value=0, max_value=Decimal("9999999999"), allow_nan=False, places=3),
)
def test_any_moment_and_amount_fitted_is_valid(moment: datetime | date, amount: Decimal) -> None:
    fitted = fit_template_data(
        {"time1": "at", "date2": "at", "amount3": "amount"}, {"at": moment, "amount": amount}
    )
    assert value_is_valid("time", fitted["time1"]), fitted
    assert value_is_valid("date", fitted["date2"]), fitted
    assert value_is_valid("amount", fitted["amount3"]), fitted


@pytest.fixture(scope="module")
def fitting_gateway(emulator_server: EmulatorServer) -> WechatGateway:
    gateway = WechatGateway.from_settings(appid=APPID, secret=SECRET, api_base=emulator_server.base_url)
    yield gateway  # type: ignore[misc]
    gateway.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=60), moment=st.datetimes(min_value=datetime(2000, 1, 1)))
def test_emulator_accepts_what_the_gateway_fits(
    emulator_server: EmulatorServer, fitting_gateway: WechatGateway, text: str, moment: datetime
) -> None:
    control = EmulatorControl(emulator_server.base_url)
    try:
        control.add_template(ALL_TYPES_TEMPLATE, ALL_TYPES_FIELDS)
        control.grant("o_fit", ALL_TYPES_TEMPLATE, 1)
        values = {key: text for key in ALL_TYPES_FIELDS}
        values.update(time8=moment, date9=moment, amount10=Decimal(len(text)))
        data = fit_template_data(dict.fromkeys(ALL_TYPES_FIELDS, ""), values)
        fitting_gateway.send_subscribe_message("o_fit", ALL_TYPES_TEMPLATE, data)
    finally:
        control.close()


def test_unfitted_data_is_refused_with_47003_and_fitted_data_is_sent(
    control: EmulatorControl, wechat: WechatGateway
) -> None:
    control.grant("o_fit", NOTICE_TEMPLATE, 1)
    values = {"thing1": "第一届职工运动会男子篮球决赛（体育馆二楼）", "time2": datetime(2024, 5, 1, 1, 30)}
    raw = {"thing1": str(values["thing1"]), "time2": "2024/05/01 09:30"}
    with pytest.raises(WechatError) as caught:
        wechat.send_subscribe_message("o_fit", NOTICE_TEMPLATE, raw)
    assert caught.value.errcode == 47003
    assert "data.thing1.value" in caught.value.errmsg
    assert control.credits("o_fit", NOTICE_TEMPLATE) == 1  # a refused send costs no credit

    wechat.send_subscribe_message("o_fit", NOTICE_TEMPLATE, fit_template_data(dict.fromkeys(raw, ""), values))
    [sent] = control.stats()["sends"]
    assert sent["data"] == {"thing1": "第一届职工运动会男子篮球决赛（体育馆二…", "time2": "2024-05-01 09:30"}
