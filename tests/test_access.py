"""The access file: parsing, every refusal (with its place), lookup and role capabilities."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from analytics import pages
from analytics.access import (
    ROLES,
    Access,
    AccessFile,
    authorize,
    default_access_path,
    load_access,
)
from analytics.errors import AccessDenied, AccessFileError, CRMError
from analytics.paths import PROJECT_ROOT

GOOD = """
[users."li.wei@example.com"]
role = "sales_manager"
regions = ["华东", "华北"]

[users."CFO@Example.com"]
role = "executive"

[users."ana@example.com"]
role = "analyst"

[users."root@example.com"]
role = "admin"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "access.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> AccessFileError:
    path = write(tmp_path, text)
    with pytest.raises(AccessFileError) as caught:
        load_access(path)
    assert str(path) in str(caught.value) and caught.value.path == str(path)
    return caught.value


def test_a_good_file_is_read_whole(tmp_path):
    access = load_access(write(tmp_path, GOOD))
    assert access.users == (
        Access("li.wei@example.com", "sales_manager", ("华东", "华北")),
        Access("CFO@Example.com", "executive"),
        Access("ana@example.com", "analyst"),
        Access("root@example.com", "admin"),
    )
    assert access.lookup("li.wei@example.com").allowed_regions == ("华东", "华北")


def test_the_committed_example_has_one_user_of_each_role():
    example = load_access(PROJECT_ROOT / "access.example.toml")
    assert sorted(u.role for u in example.users) == sorted(ROLES)


def test_lookup_ignores_case_and_surrounding_spaces(tmp_path):
    access = load_access(write(tmp_path, GOOD))
    assert access.lookup("  Li.Wei@EXAMPLE.com\n").email == "li.wei@example.com"
    assert access.lookup("cfo@example.com").email == "CFO@Example.com"
    assert access.lookup("nobody@example.com") is None
    assert access.lookup("") is None and access.lookup(None) is None and access.lookup("   ") is None


def test_an_empty_file_lets_nobody_in(tmp_path):
    assert load_access(write(tmp_path, "")).lookup("cfo@example.com") is None


@pytest.mark.parametrize(("role", "regions", "can_import", "can_change_settings"), [
    ("executive", None, False, False),
    ("sales_manager", ("华东",), False, False),
    ("analyst", None, True, False),
    ("admin", None, True, True),
])
def test_role_capabilities(role, regions, can_import, can_change_settings):
    access = Access("someone@example.com", role, regions)
    assert access.allowed_regions == regions
    assert (access.can_import, access.can_change_settings) == (can_import, can_change_settings)
    assert pages.get("overview").allows(access)
    assert pages.get("data").allows(access) == can_import


def test_regions_are_trimmed_and_listed_once():
    assert Access("a@b.cn", "sales_manager", [" 华东 ", "华北", "华东"]).allowed_regions == ("华东", "华北")


def test_authorize(tmp_path):
    access = load_access(write(tmp_path, GOOD))
    assert authorize(access, "ANA@example.com").role == "analyst"
    assert authorize(access, "li.wei@example.com").allowed_regions == ("华东", "华北")
    with pytest.raises(AccessDenied, match=re.escape(f"x@example.com has no access: not in the access file "
                                                     f"{access.path}")):
        authorize(access, "x@example.com")
    with pytest.raises(AccessDenied, match="no access"):
        authorize(access, None)
    pages.get("data").require(authorize(access, "ANA@example.com"))
    pages.get("overview").require(authorize(access, "li.wei@example.com"))
    with pytest.raises(AccessDenied, match=r"li\.wei@example\.com \(sales_manager\) may not open the data page: "
                                           r"it needs the role admin or analyst"):
        pages.get("data").require(authorize(access, "li.wei@example.com"))
    with pytest.raises(AccessDenied, match="may not open the data page"):
        pages.get("data").require(authorize(access, "cfo@example.com"))


def test_a_missing_file_names_its_path_and_the_example(tmp_path):
    path = tmp_path / "nowhere" / "access.toml"
    with pytest.raises(AccessFileError) as caught:
        load_access(path)
    message = str(caught.value)
    assert str(path) in message and "access.example.toml" in message and "CRM_ACCESS_FILE" in message
    assert isinstance(caught.value, CRMError)


def test_a_toml_syntax_error_gives_line_and_column(tmp_path):
    error = refusal(tmp_path, '[users."a@example.com"]\nrole = admin\n')
    assert "not valid TOML" in str(error)
    assert (error.line, error.column) == (2, 8)
    assert "line 2, column 8" in str(error)
    error = refusal(tmp_path, '[users."a@example.com"]\n[users."a@example.com"]\nrole = "admin"\n')
    assert error.line == 2 and "line 2" in str(error)
    # An error at the very end has no line in tomllib's report; the message says where.
    assert "end of document" in str(refusal(tmp_path, '[users."a@example.com"]\nregions = [\n'))


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "access.toml"
    path.write_bytes('[users."a@example.com"]\nrole = "sales_manager"\nregions = ["华东"]\n'.encode("gbk"))
    with pytest.raises(AccessFileError, match="not UTF-8"):
        load_access(path)


@pytest.mark.parametrize(("entry", "words"), [
    ('role = "boss"', ["'boss' is not one of executive, sales_manager, analyst, admin"]),
    ('regions = ["华东"]', ["no role", "executive, sales_manager, analyst, admin"]),
    ('role = "sales_manager"', ["a sales_manager needs 'regions'"]),
    ('role = "sales_manager"\nregions = []', ["a sales_manager needs 'regions'"]),
    ('role = "executive"\nregions = ["华东"]', ["role 'executive' sees every region: remove 'regions'"]),
    ('role = "admin"\nregions = []', ["role 'admin' sees every region"]),
    ('role = "sales_manager"\nregions = "华东"', ["regions must be a list", "'华东'"]),
    ('role = "sales_manager"\nregions = ["华东", ""]', ["regions must be non-empty strings", "''"]),
    ('role = "sales_manager"\nregions = ["  "]', ["regions must be non-empty strings"]),
    ('role = "sales_manager"\nregions = ["华东", 3]', ["regions must be non-empty strings", "3"]),
    ('role = "analyst"\nregion = ["华东"]', ["unknown key 'region'", "role and regions"]),
])
def test_a_wrong_user_entry_is_refused_naming_the_user(tmp_path, entry, words):
    text = f'[users."cfo@example.com"]\nrole = "executive"\n\n[users."li.wei@example.com"]\n{entry}\n'
    error = refusal(tmp_path, text)
    assert "user 'li.wei@example.com'" in str(error) and error.email == "li.wei@example.com"
    for word in words:
        assert word in str(error)


def test_a_user_that_is_not_a_table(tmp_path):
    error = refusal(tmp_path, '[users]\n"a@example.com" = "admin"\n')
    assert "user 'a@example.com'" in str(error) and "as a table" in str(error)


def test_an_empty_email_is_refused(tmp_path):
    error = refusal(tmp_path, '[users.""]\nrole = "admin"\n')
    assert "the email is empty" in str(error)


def test_unknown_top_level_keys_are_refused(tmp_path):
    error = refusal(tmp_path, '[user."a@example.com"]\nrole = "admin"\n')
    assert "unknown top-level key 'user'" in str(error) and error.email is None
    error = refusal(tmp_path, 'users = "everyone"\n')
    assert '"users" must be tables' in str(error)


def test_the_same_email_in_different_case_is_refused(tmp_path):
    error = refusal(tmp_path, '[users."Li.Wei@example.com"]\nrole = "executive"\n'
                              '[users."li.wei@example.com"]\nrole = "admin"\n')
    assert "'Li.Wei@example.com' and 'li.wei@example.com' are the same user" in str(error)


def test_access_file_holds_no_duplicates_when_built_directly():
    with pytest.raises(ValueError, match="same user"):
        AccessFile(Path("x.toml"), (Access("a@b.cn", "admin"), Access(" A@B.cn", "analyst")))


def test_the_access_file_can_be_cached(tmp_path):
    """Streamlit's ``cache_data`` pickles what it stores; equal files compare equal."""
    access = load_access(write(tmp_path, GOOD))
    copy = pickle.loads(pickle.dumps(access))
    assert copy == access and copy.lookup("CFO@example.com").role == "executive"
    assert hash(copy) == hash(access)


def test_default_access_path(monkeypatch, tmp_path):
    monkeypatch.delenv("CRM_ACCESS_FILE", raising=False)
    assert default_access_path() == PROJECT_ROOT / "access.toml"
    assert (PROJECT_ROOT / "app.py").exists()
    monkeypatch.setenv("CRM_ACCESS_FILE", str(tmp_path / "a.toml"))
    assert default_access_path() == tmp_path / "a.toml"
