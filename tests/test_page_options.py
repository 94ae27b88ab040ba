"""A page's own options: analytics.pages.Option (parse, show, the checks of Page) and ui.page_options
(the options in the address) through a tiny AppTest script (tests/page_options_script.py)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from analytics import pages
from analytics.pages import Option

SCRIPT = str(Path(__file__).resolve().parent / "page_options_script.py")
HORIZON = Option("horizon_months", "int", 12, 1, 60)
RATE = Option("discount_rate", "float", None, 0.0, 0.5)
MARGIN = Option("margin", "float", None, -1.0, 1.0)
MONTH = Option("holdout_from", "month", None, date(1900, 1, 1), date(2100, 12, 1))
TEXT = Option("customer", "text")


@pytest.mark.parametrize(("option", "text", "value"), [
    (HORIZON, "12", 12), (HORIZON, " 7 ", 7), (HORIZON, "+3", 3), (HORIZON, "1", 1), (HORIZON, "60", 60),
    (RATE, "0.1", 0.1), (RATE, ".25", 0.25), (RATE, "5e-2", 0.05), (RATE, "0", 0.0), (RATE, "0.5", 0.5),
    (MARGIN, "-0.2", -0.2), (MARGIN, "-1", -1.0),
    (MONTH, "2024-05", date(2024, 5, 1)), (MONTH, "2024-05-17", date(2024, 5, 1)),
    (MONTH, " 1900-01 ", date(1900, 1, 1)), (MONTH, "2100-12", date(2100, 12, 1)),
    (TEXT, "  000123 ", "000123"), (TEXT, "王" * 200, "王" * 200),
])
def test_an_option_reads_its_text_and_shows_it_back(option, text, value):
    parsed = option.parse(text)
    assert parsed == value and type(parsed) is type(value)
    assert option.parse(option.show(parsed)) == parsed


@pytest.mark.parametrize(("option", "text", "message"), [
    (HORIZON, "abc", "horizon_months 'abc': give a whole number"),
    (HORIZON, "1.5", "give a whole number"), (HORIZON, "1_2", "give a whole number"),
    (HORIZON, "１２", "give a whole number"), (HORIZON, "", "give a whole number"),
    (HORIZON, "0", "horizon_months '0': give a value from 1 to 60"), (HORIZON, "61", "from 1 to 60"),
    (RATE, "nan", "discount_rate 'nan': give a number"), (RATE, "inf", "give a number"),
    (RATE, "-inf", "give a number"), (RATE, "10%", "give a number"), (RATE, "0,1", "give a number"),
    (RATE, "0.51", "give a value from 0.0 to 0.5"), (RATE, "-0.01", "from 0.0 to 0.5"),
    (MARGIN, "1.01", "from -1.0 to 1.0"),
    (MONTH, "2024-13", "holdout_from '2024-13': give a month as YYYY-MM"), (MONTH, "2024-5", "YYYY-MM"),
    (MONTH, "May 2024", "YYYY-MM"), (MONTH, "2024/05", "YYYY-MM"),
    (MONTH, "1899-12", "holdout_from '1899-12': give a value from 1900-01 to 2100-12"),
    (TEXT, "   ", "customer must be 1 to 200 characters"), (TEXT, "x" * 201, "1 to 200 characters"),
    (Option("n", "int", low=0), "-1", "n '-1': give a value from 0 to …"),
])
def test_an_option_refuses_bad_text_saying_what_it_must_be(option, text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        option.parse(text)


def test_show_writes_months_as_year_and_month_and_numbers_as_python_reads_them():
    assert MONTH.show(date(2024, 5, 17)) == "2024-05" and MONTH.show(date(987, 1, 1)) == "0987-01"
    assert (HORIZON.show(24), RATE.show(0.1), MARGIN.show(-0.25), TEXT.show("000123")) == ("24", "0.1", "-0.25",
                                                                                            "000123")


def test_a_page_refuses_repeated_or_badly_named_options():
    value = pages.get("value")
    assert replace(value, options=(HORIZON, RATE)).option("discount_rate") is RATE
    for options in ((HORIZON, HORIZON), (HORIZON, replace(RATE, name="horizon_months")),
                    (replace(HORIZON, name="Horizon"),), (replace(HORIZON, name="horizon-months"),),
                    (replace(HORIZON, name="2x"),)):
        with pytest.raises(ValueError, match="option names must be distinct lower_case words"):
            replace(value, options=options)
    with pytest.raises(KeyError, match="the value page has no option 'customer'; its options are horizon_months, "
                                       "discount_rate, holdout_from, margin"):
        value.option("customer")
    with pytest.raises(KeyError, match="its options are none"):
        pages.get("overview").option("margin")


def test_the_registered_options_are_the_value_and_customer_pages():
    assert [o.name for o in pages.get("value").options] == ["horizon_months", "discount_rate", "holdout_from",
                                                             "margin"]
    assert pages.get("value").option("horizon_months").default == 12
    assert [o.name for o in pages.get("customer").options] == ["customer"]


def run(params: dict[str, str | list[str]], **state) -> tuple[AppTest, dict]:
    at = AppTest.from_file(SCRIPT, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at, json.loads(at.text[0].value)


def address(at: AppTest) -> dict[str, list[str]]:
    return {key: value if isinstance(value, list) else [value] for key, value in at.query_params.items()}


def test_read_parses_the_address_and_names_what_it_refused():
    at, shown = run({"horizon_months": "24", "discount_rate": "abc", "holdout_from": "2024-03-09", "margin": "0.2",
                     "lang": "en"})
    assert shown["values"] == {"horizon_months": "24", "holdout_from": "2024-03", "margin": "0.2"}
    assert shown["types"] == {"horizon_months": "int", "holdout_from": "date", "margin": "float"}
    assert shown["refused"] == ["discount_rate"]
    assert shown["cache_key"] == repr((("holdout_from", date(2024, 3, 1)), ("horizon_months", 24), ("margin", 0.2)))
    assert address(at)["discount_rate"] == ["abc"]  # left for the page to say so; the loader uses the default


def test_tidy_drops_other_pages_options_and_keeps_the_filters():
    at, shown = run({"customer": "000123", "horizon_months": "24", "lang": "en", "region": ["华东", "华北"]})
    assert address(at) == {"horizon_months": ["24"], "lang": ["en"], "region": ["华东", "华北"]}
    assert shown["values"] == {"horizon_months": "24"}
    at, shown = run({"customer": "000123", "horizon_months": "24", "margin": "0.2", "lang": "zh"}, page="customer")
    assert address(at) == {"customer": ["000123"], "lang": ["zh"]} and shown["values"] == {"customer": "000123"}


def test_put_writes_an_option_and_leaves_it_out_at_its_default():
    at, _ = run({"lang": "en", "margin": "0.2", "discount_rate": "0.05"},
                put=[("horizon_months", 24), ("holdout_from", date(2024, 3, 9)), ("margin", None),
                     ("discount_rate", 0.08)])
    assert address(at) == {"lang": ["en"], "horizon_months": ["24"], "holdout_from": ["2024-03"],
                           "discount_rate": ["0.08"]}
    at, _ = run({"horizon_months": "24"}, put=[("horizon_months", 12)])  # the default: out of the address
    assert address(at) == {}
    at = AppTest.from_file(SCRIPT, default_timeout=30)
    at.session_state["put"] = [("customer", "000123")]  # not a value-page option
    at.run()
    assert len(at.exception) == 1  # a KeyError (its message is redacted by the shipped config; tested above)


def test_page_url_keeps_language_and_filters_and_drops_other_options():
    _, shown = run({"lang": "en", "region": ["华东", "华北"], "horizon_months": "24", "start": "2024-01"},
                   link=("customer", {"customer": "000 123/x"}))
    url = urlsplit(shown["url"])
    assert url.path == "/customer"
    assert sorted(parse_qsl(url.query)) == sorted([("lang", "en"), ("region", "华东"), ("region", "华北"),
                                                   ("start", "2024-01"), ("customer", "000 123/x")])
    assert url.query.endswith("customer=000+123%2Fx") and "horizon_months" not in url.query
    _, shown = run({}, link=("value", {"holdout_from": date(2024, 3, 9), "margin": None}))
    assert shown["url"] == "/value?holdout_from=2024-03"
    _, shown = run({}, link=("overview", {}))
    assert shown["url"] == "/overview"


@pytest.mark.parametrize("params", [{"lang": "en", "region": ["华东", "华北"], "horizon_months": "24"}, {}])
def test_a_link_column_is_page_url_for_each_customer(params):
    """A customer table's links (page_urls, the address read once) are page_url's, one by one."""
    ids = ["000 123/x", "K0001", "客户&=?#", ""]
    _, shown = run(params, links=ids)
    assert shown["urls"] == shown["one_by_one"] and len(shown["urls"]) == len(ids)
    assert [dict(parse_qsl(urlsplit(u).query, keep_blank_values=True))["customer"] for u in shown["urls"]] == ids
