"""Unit tests of :func:`plugin.templating.render` and :func:`plugin.templating.env_references`."""

from __future__ import annotations

import pytest

from plugin.templating import TemplateError, env_references, render

NO_ENV: dict[str, str] = {}


# -- variables --------------------------------------------------------------------------


def test_a_variable_is_filled() -> None:
    assert render("--project-ref={ref}", {"ref": "abc123"}, NO_ENV) == "--project-ref=abc123"


def test_several_variables_and_repeats() -> None:
    variables = {"env": "staging", "version": "v1.4.0"}
    assert render("{env}-{version}-{env}", variables, NO_ENV) == "staging-v1.4.0-staging"


def test_text_without_references_is_unchanged() -> None:
    assert render("pnpm --filter web build", {"web": "x"}, {"PATH": "/bin"}) == "pnpm --filter web build"


@pytest.mark.parametrize("text", ["{Upper}", "{a-b}", "{ a }", "{1x}", "$X", "${1X}", "{", "}", "${}", "{}"])
def test_things_that_are_not_references_are_left_as_they_are(text: str) -> None:
    assert render(text, {"a": "A", "Upper": "U"}, {"X": "x"}) == text


def test_nested_variables_are_filled() -> None:
    variables = {"url": "https://{host}/{path}", "host": "{sub}.example.com", "sub": "api", "path": "v1"}
    assert render("curl {url}", variables, NO_ENV) == "curl https://api.example.com/v1"


def test_variables_may_hold_environment_references() -> None:
    variables = {"dsn": "postgresql://app:${DB_PASSWORD}@{host}/db", "host": "db.internal"}
    env = {"DB_PASSWORD": "pw"}
    assert render("{dsn}", variables, env) == "postgresql://app:pw@db.internal/db"


def test_eight_levels_of_nesting_are_allowed() -> None:
    variables = {f"v{n}": f"{{v{n + 1}}}" for n in range(7)} | {"v7": "end"}
    assert render("{v0}", variables, NO_ENV) == "end"


def test_nine_levels_of_nesting_are_too_deep() -> None:
    variables = {f"v{n}": f"{{v{n + 1}}}" for n in range(8)} | {"v8": "end"}
    with pytest.raises(TemplateError, match="nest deeper than 8"):
        render("{v0}", variables, NO_ENV)


def test_a_self_referencing_variable_hits_the_depth_limit() -> None:
    with pytest.raises(TemplateError, match=r"template variables nest deeper than 8: 'x\{a\}'"):
        render("{a}", {"a": "x{a}"}, NO_ENV)


def test_variables_referencing_each_other_hit_the_depth_limit() -> None:
    with pytest.raises(TemplateError, match="nest deeper than 8"):
        render("{a}", {"a": "{b}", "b": "{a}"}, NO_ENV, strict=False)


# -- unknown variables ------------------------------------------------------------------


def test_an_unknown_variable_is_named_with_the_known_ones() -> None:
    with pytest.raises(TemplateError) as excinfo:
        render("--ref={project_ref}", {"zone": "z", "env": "staging"}, NO_ENV)
    assert str(excinfo.value) == "unknown template variable {project_ref}; known: env, zone"


def test_an_unknown_variable_without_any_known_ones() -> None:
    with pytest.raises(TemplateError, match=r"unknown template variable \{ref\}; known: none$"):
        render("{ref}", {}, NO_ENV)


def test_an_unknown_variable_inside_a_variable_is_named() -> None:
    with pytest.raises(TemplateError, match=r"unknown template variable \{missing\}; known: outer$"):
        render("{outer}", {"outer": "a-{missing}"}, NO_ENV)


def test_an_unknown_variable_raises_even_when_not_strict() -> None:
    with pytest.raises(TemplateError, match=r"\{nope\}"):
        render("{nope}", {}, NO_ENV, strict=False)


# -- environment references -------------------------------------------------------------


def test_an_environment_reference_is_filled() -> None:
    env = {"SUPABASE_ACCESS_TOKEN": "tok", "lower_case": "lc"}
    assert render("--token=${SUPABASE_ACCESS_TOKEN} ${lower_case}", {}, env) == "--token=tok lc"


def test_an_empty_environment_value_counts_as_set() -> None:
    assert render("[${EMPTY}]", {}, {"EMPTY": ""}) == "[]"


def test_environment_values_are_not_rendered_again() -> None:
    env = {"ODD": "{a} ${OTHER} {{x}}"}
    assert render("${ODD}", {"a": "A"}, env) == "{a} ${OTHER} {{x}}"


def test_an_unset_environment_variable_is_an_error_when_strict() -> None:
    with pytest.raises(TemplateError) as excinfo:
        render("--token=${VERCEL_TOKEN}", {}, {"OTHER": "x"})
    assert str(excinfo.value) == "environment variable VERCEL_TOKEN is not set"


def test_an_unset_environment_variable_is_shown_when_not_strict() -> None:
    rendered = render("--token=${VERCEL_TOKEN} {v}", {"v": "${ALSO_UNSET}"}, NO_ENV, strict=False)
    assert rendered == "--token=<unset:VERCEL_TOKEN> <unset:ALSO_UNSET>"


def test_strict_is_the_default_inside_variables_too() -> None:
    with pytest.raises(TemplateError, match="environment variable HIDDEN is not set"):
        render("{v}", {"v": "${HIDDEN}"}, NO_ENV)


# -- escapes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{", "{"),
        ("}}", "}"),
        ("{{a}}", "{a}"),
        ("{{{a}}}", "{1}"),
        ("}}{{", "}{"),
        ('{{"json": "{a}"}}', '{"json": "1"}'),
        ("${{HOME}}", "${HOME}"),
        ("$${A}", "$x"),
    ],
)
def test_doubled_braces_are_escapes(text: str, expected: str) -> None:
    assert render(text, {"a": "1"}, {"A": "x", "HOME": "/root"}) == expected


def test_escapes_inside_a_variable_are_resolved_once() -> None:
    assert render("{a}", {"a": "{{b}}"}, NO_ENV) == "{b}"


# -- env_references ---------------------------------------------------------------------


def test_env_references_lists_direct_references_in_order() -> None:
    assert env_references("${A} {b} ${B_2} x ${A}") == ["A", "B_2", "A"]


def test_env_references_ignores_variables_escapes_and_look_alikes() -> None:
    assert env_references("{a} {{b}} ${{C}} $D ${1E} {UPPER}") == []


def test_env_references_does_not_look_inside_variables() -> None:
    assert env_references("{dsn}") == []
    assert env_references("{{${TOKEN}}}") == ["TOKEN"]


def test_env_references_of_plain_text_is_empty() -> None:
    assert env_references("") == []
    assert env_references("supabase db push") == []
