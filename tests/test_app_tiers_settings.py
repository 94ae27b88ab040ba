"""The customer tiers page's settings through AppTest: the preset, revenue or margin, the cut points and the names,
each kept in the address, and a link's values refused with a warning as the churn page refuses its own. Figures
against the tiers computed from the raw rows (tests/tiers_fixture.py), on the database of tests/test_app_tiers.py
(a copy of its own) and on one whose sales files have no cost."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import tiers_fixture as tf
from test_app_tiers import assert_pyramid, frame_with, run_tiers

from analytics.store import settings as stored_settings
from analytics.store.connection import connect
from ui.i18n import LANGUAGES, md_literal, t

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
KEY = (("key", "ordinary", "small"), (0.2, 0.5))
CUTS = ("tiers_cut_0", "tiers_cut_1", "tiers_cut_2")


@pytest.fixture(scope="module")
def tiers_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    return tf.build(tmp_path_factory.mktemp("app_tiers_settings"))


@pytest.fixture(scope="module")
def bare_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    return tf.build(tmp_path_factory.mktemp("app_tiers_no_cost"), with_cost=False)


def refusals(at) -> list[str]:
    return [w.value for w in at.warning if w.icon == ":material/link_off:"]


def problems(at) -> list[str]:
    return [w.value for w in at.warning if w.icon == ":material/warning:"]


def cut_values(at, n: int = 3) -> list[float | None]:
    return [at.number_input(key=f"tiers_cut_{i}").value for i in range(n)]


# ----------------------------------------------------------------------------- the settings


def test_changed_cut_points_rerun_with_them_and_go_in_the_address(monkeypatch, tiers_db):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, "en")
    assert cut_values(at) == [1.0, 5.0, 20.0] and "cuts" not in at.query_params
    for key, value in zip(CUTS, (10.0, 30.0, 60.0), strict=True):
        at.number_input(key=key).set_value(value)
    at.run()
    assert not at.exception and not problems(at)
    assert at.query_params["cuts"] == "0.1,0.3,0.6"
    assert_pyramid(at, tf.pyramid(tx, customers, cuts=(0.1, 0.3, 0.6)))
    # back at the preset's cut points: out of the address again
    for key, value in zip(CUTS, (1.0, 5.0, 20.0), strict=True):
        at.number_input(key=key).set_value(value)
    at.run()
    assert "cuts" not in at.query_params
    assert_pyramid(at, tf.pyramid(tx, customers))


def test_cut_points_that_do_not_increase_are_refused_and_the_preset_shown(monkeypatch, tiers_db):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, "zh")
    at.number_input(key="tiers_cut_1").set_value(50.0).run()
    assert problems(at) == [t("tiers_cuts_invalid", "zh", tiers=4, cuts=3) + " " + t("tiers_showing_preset", "zh")]
    assert "cuts" not in at.query_params
    assert_pyramid(at, tf.pyramid(tx, customers), "zh")


def test_margin_instead_of_revenue(monkeypatch, tiers_db):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, "en")
    assert not at.radio(key="tiers_by").disabled
    at.radio(key="tiers_by").set_value("margin").run()
    assert at.query_params["by"] == "margin"
    assert_pyramid(at, tf.pyramid(tx, customers, measure="margin"))
    ranked = tf.values(tx, customers, tf.PERIOD, "margin")
    period = tx[(tx["order_date"] >= tf.PERIOD[0]) & (tx["order_date"] < tf.PERIOD[1])]
    without = set(ranked.index) - set(period.loc[period["cost"].notna(), "customer_id"])
    assert without  # customers without a cost: margin 0, and the page says how many
    assert t("tiers_no_cost_note", "en", n=str(len(without))) in [c.value for c in at.caption]
    assert t("tiers_measure_margin", "en") in at.caption[0].value


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_key_preset_brings_its_own_names_and_cut_points(monkeypatch, tiers_db, lang):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, lang)
    at.radio(key="tiers_preset").set_value("key").run()
    assert cut_values(at, 2) == [20.0, 50.0]
    assert at.query_params["preset"] == "key" and "cuts" not in at.query_params and "names" not in at.query_params
    assert_pyramid(at, tf.pyramid(tx, customers, *KEY), lang)
    assert [n for n in ("关键客户", "普通客户", "小客户") if n in frame_with(at, "tier", lang).to_csv()] == (
        ["关键客户", "普通客户", "小客户"] if lang == "zh" else [])


def test_a_link_with_names_and_cut_points_shows_the_names_as_given(monkeypatch, tiers_db):
    path, tx, customers = tiers_db
    names, cuts = ("A级", "B级", "<b>C</b>", "D级", "E级"), (0.05, 0.15, 0.3, 0.6)
    at = run_tiers(monkeypatch, path, "zh", names=",".join(names), cuts="0.05,0.15,0.3,0.6")
    assert not refusals(at) and not problems(at)
    assert at.text_input(key="tiers_names").value == ", ".join(names)
    assert cut_values(at, 4) == [5.0, 15.0, 30.0, 60.0]
    assert_pyramid(at, tf.pyramid(tx, customers, names, cuts), "zh")
    moves = tf.migration(tx, customers, names, cuts)
    matrix = frame_with(at, "from_to", "zh").set_index(t("tiers_col_from_to", "zh"))
    assert list(matrix.columns) == [*names, t("tiers_lost", "zh")]
    assert int(matrix.to_numpy().sum()) == len(moves)
    assert md_literal("<b>C</b>") in next(i.value for i in at.info if i.icon == ":material/rule:")


def test_names_of_another_count_wait_for_their_cut_points(monkeypatch, tiers_db):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, "en")
    at.text_input(key="tiers_names").set_value("Top, Middle, Bottom, Rest, Tail").run()
    assert cut_values(at, 4) == [1.0, 5.0, 20.0, None]
    assert problems(at) == [t("tiers_cuts_invalid", "en", tiers=5, cuts=4) + " " + t("tiers_showing_preset", "en")]
    assert "names" not in at.query_params and "cuts" not in at.query_params
    assert_pyramid(at, tf.pyramid(tx, customers))
    at.number_input(key="tiers_cut_3").set_value(50.0).run()
    assert not problems(at)
    assert at.query_params["names"] == "Top,Middle,Bottom,Rest,Tail"
    assert at.query_params["cuts"] == "0.01,0.05,0.2,0.5"
    assert_pyramid(at, tf.pyramid(tx, customers, ("Top", "Middle", "Bottom", "Rest", "Tail"), (0.01, 0.05, 0.2, 0.5)))


def test_names_that_repeat_are_refused_while_typed(monkeypatch, tiers_db):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, "en")
    at.text_input(key="tiers_names").set_value("A, A, B, C").run()
    assert problems(at) == [t("tiers_names_invalid", "en") + " " + t("tiers_showing_preset", "en")]
    assert "names" not in at.query_params
    assert_pyramid(at, tf.pyramid(tx, customers))


def test_the_pyramid_cut_points_come_from_the_metric_setting(monkeypatch, tiers_db, tmp_path):
    path, tx, customers = tiers_db
    copy = tmp_path / "crm.duckdb"
    copy.write_bytes(path.read_bytes())
    con = connect(copy)
    try:
        stored_settings.save(con, {"tier_cuts": [0.02, 0.1, 0.3]})
    finally:
        con.close()
    at = run_tiers(monkeypatch, copy, "en")
    assert cut_values(at) == [2.0, 10.0, 30.0] and "cuts" not in at.query_params
    assert_pyramid(at, tf.pyramid(tx, customers, cuts=(0.02, 0.1, 0.3)))


# ----------------------------------------------------------------------------- links refused


@pytest.mark.parametrize(("params", "refused"), [
    ({"by": "profit"}, ["by"]),
    ({"preset": "vip"}, ["preset"]),
    ({"cuts": "abc"}, ["cuts"]),
    ({"cuts": "0.5,0.1,0.2"}, ["cuts"]),
    ({"cuts": "0.1,0.2"}, ["cuts"]),
    ({"cuts": "0.01,0.05,1.2"}, ["cuts"]),
    ({"names": "a,a,b,c"}, ["names"]),
    ({"names": "new,b,c,d"}, ["names"]),
    ({"names": "A,B"}, ["names"]),  # three tiers need their cut points
    ({"preset": "key", "cuts": "0.01,0.05,0.2"}, ["cuts"]),  # the key preset has two
], ids=lambda v: "-".join(v) if isinstance(v, list) else "&".join(f"{k}={x}" for k, x in v.items()))
def test_a_refused_link_value_warns_and_falls_back(monkeypatch, tiers_db, params, refused):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, "en", **params)
    assert refusals(at) == [t("tiers_option_refused", "en", name=t(f"tiers_setting_{name}", "en"),
                              value=md_literal(params[name])) for name in refused]
    assert not [name for name in refused if name in at.query_params]
    names, cuts = KEY if params.get("preset") == "key" else tf.PYRAMID
    assert_pyramid(at, tf.pyramid(tx, customers, names, cuts))


def test_margin_is_off_where_the_data_has_no_cost(monkeypatch, bare_db):
    path, tx, customers = bare_db
    at = run_tiers(monkeypatch, path, "zh", by="margin")
    assert refusals(at) == [t("tiers_option_refused", "zh", name=t("tiers_setting_by", "zh"), value="margin")]
    assert at.radio(key="tiers_by").disabled and at.radio(key="tiers_by").value == "revenue"
    assert t("tiers_margin_unavailable", "zh") in [c.value for c in at.caption]
    assert "by" not in at.query_params
    assert_pyramid(at, tf.pyramid(tx, customers), "zh")


def test_a_link_opens_with_its_settings(monkeypatch, tiers_db):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, "en", preset="key", by="margin", cuts="0.1,0.4")
    assert not refusals(at)
    assert at.radio(key="tiers_preset").value == "key" and at.radio(key="tiers_by").value == "margin"
    assert cut_values(at, 2) == [10.0, 40.0]
    assert {k: at.query_params[k] for k in ("preset", "by", "cuts")} == {"preset": "key", "by": "margin",
                                                                         "cuts": "0.1,0.4"}
    assert_pyramid(at, tf.pyramid(tx, customers, KEY[0], (0.1, 0.4), "margin"))
