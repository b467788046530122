"""Unit tests of :class:`plugin.masking.Masker`."""

from __future__ import annotations

import pytest

from plugin.masking import MASK, Masker

GITHUB_SHAPED = "ghp_" + "A1b2C3d4E5" * 4  # 40 characters after the prefix
SLACK_SHAPED = "xoxb-123456789012-abcDEF987654"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


# -- secrets from the environment -------------------------------------------------------


def test_configured_secret_names_are_masked() -> None:
    masker = Masker.from_environment(["DEPLOY_HOOK"], {"DEPLOY_HOOK": "hook-value-42", "HOME": "/home/release"})
    assert masker.secrets == ("hook-value-42",)
    assert masker.mask("calling hook-value-42 from /home/release") == f"calling {MASK} from /home/release"


@pytest.mark.parametrize(
    "name",
    [
        "GITHUB_TOKEN",
        "SUPABASE_ACCESS_TOKEN",
        "client_secret",
        "DB_PASSWORD",
        "PGPASSWD",
        "GPG_PASSPHRASE",
        "SSH_PRIVATE_KEY",
        "OPENAI_API_KEY",
        "STRIPE_APIKEY",
        "SENTRY_DSN",
        "GOOGLE_CREDENTIALS",
    ],
)
def test_names_that_look_secret_are_masked_without_configuration(name: str) -> None:
    masker = Masker.from_environment((), {name: "value-of-the-secret", "PATH": "/usr/bin:/bin"})
    assert masker.secrets == ("value-of-the-secret",)
    assert masker.mask("x value-of-the-secret y /usr/bin") == f"x {MASK} y /usr/bin"


@pytest.mark.parametrize("name", ["HOME", "PATH", "RELEASE_TARGET", "SUPABASE_URL", "USER"])
def test_ordinary_names_are_not_secrets(name: str) -> None:
    masker = Masker.from_environment((), {name: "plain-value"})
    assert masker.secrets == ()
    assert masker.mask("plain-value") == "plain-value"


def test_configured_names_that_are_not_set_are_ignored() -> None:
    masker = Masker.from_environment(["MISSING", "DEPLOY_HOOK"], {"DEPLOY_HOOK": "hook-value"})
    assert masker.secrets == ("hook-value",)


def test_from_environment_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELEASE_GATE_TEST_TOKEN", "os-environ-secret")
    masker = Masker.from_environment()
    assert "os-environ-secret" in masker.secrets
    assert masker.mask("token=os-environ-secret") == f"token={MASK}"


@pytest.mark.parametrize("value", ["", "a", "ab", "abc"])
def test_values_shorter_than_four_characters_are_not_secrets(value: str) -> None:
    masker = Masker.from_environment(["SHORT"], {"SHORT": value, "DB_PASSWORD": value})
    assert masker.secrets == ()
    assert masker.mask("abc and a and ab") == "abc and a and ab"


def test_a_four_character_value_is_a_secret() -> None:
    masker = Masker.from_environment(["PIN"], {"PIN": "4321"})
    assert masker.mask("pin 4321") == f"pin {MASK}"


def test_with_secrets_adds_values_and_ignores_short_ones() -> None:
    masker = Masker(("first-secret",)).with_secrets(["second-secret-longer", "xyz", "first-secret"])
    assert masker.secrets == ("second-secret-longer", "first-secret")
    assert masker.mask("first-secret second-secret-longer xyz") == f"{MASK} {MASK} xyz"


# -- longest first ----------------------------------------------------------------------


def test_secrets_are_ordered_longest_first() -> None:
    env = {"A_TOKEN": "abcd", "B_TOKEN": "abcdefgh", "C_TOKEN": "abcdef"}
    assert Masker.from_environment((), env).secrets == ("abcdefgh", "abcdef", "abcd")


def test_a_secret_containing_another_is_masked_whole() -> None:
    masker = Masker.from_environment((), {"SHORT_TOKEN": "s3cr", "LONG_TOKEN": "s3cr3t-and-more"})
    assert masker.mask("a s3cr3t-and-more b s3cr c") == f"a {MASK} b {MASK} c"
    assert "and-more" not in masker.mask("s3cr3t-and-more")


def test_every_occurrence_is_masked() -> None:
    masker = Masker(("hunter22",))
    assert masker.mask("hunter22/hunter22 hunter22") == f"{MASK}/{MASK} {MASK}"


def test_overlapping_secrets_leave_no_fragment() -> None:
    # Regression (fixed in e704297): secrets were replaced one after another, leaving "***wxyz".
    masker = Masker(("abcdXYZ", "XYZwxyz"))
    assert masker.mask("abcdXYZwxyz") == MASK
    assert masker.mask("<abcdXYZwxyz> and XYZwxyz") == f"<{MASK}> and {MASK}"


def test_adjacent_secrets_are_masked_as_one() -> None:
    assert Masker(("left-secret", "right-secret")).mask("left-secretright-secret!") == f"{MASK}!"


# -- URL credentials --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://user:pw@host", f"postgresql://user:{MASK}@host"),
        ("postgresql://release:s3cr3t@db.internal:5432/app", f"postgresql://release:{MASK}@db.internal:5432/app"),
        (
            "DATABASE_URL=postgres://u:p%40ss@h/db?sslmode=require",
            f"DATABASE_URL=postgres://u:{MASK}@h/db?sslmode=require",
        ),
        ("https://deploy:tok:en@example.com/x", f"https://deploy:{MASK}@example.com/x"),
        ("a git+ssh://git:key@github.com/x b", f"a git+ssh://git:{MASK}@github.com/x b"),
    ],
)
def test_url_passwords_are_masked_and_users_kept(text: str, expected: str) -> None:
    assert Masker().mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com:8443/path",
        "postgresql://user@host/db",
        "mailto:someone@example.com",
        "https://example.com/?email=a:b@c",
    ],
)
def test_urls_without_a_password_are_left_alone(text: str) -> None:
    assert Masker().mask(text) == text


def test_url_password_without_a_user_is_masked() -> None:
    # Regression (fixed in e704297): the pattern needed a non-empty user, so this leaked.
    assert Masker().mask("redis://:s3cretpass@cache:6379/0") == f"redis://:{MASK}@cache:6379/0"


# -- token shapes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        GITHUB_SHAPED,
        "gho_" + "z" * 36,
        "github_pat_" + "11ABCDEFG0_" + "x" * 30,
        SLACK_SHAPED,
        "xoxp-1234567890-abcdefghij",
        JWT,
        "sbp_" + "0123456789abcdef" * 2 + "01234567",
        "sk_live_" + "a1B2c3D4e5F6g7H8",
    ],
)
def test_token_shapes_are_masked(token: str) -> None:
    assert Masker().mask(f"using {token} now") == f"using {MASK} now"
    assert Masker().mask(f"token={token}") == f"token={MASK}"


@pytest.mark.parametrize(
    "text",
    [
        "ghp_short",
        "xoxb-123",
        "eyJhbGci.short.x",
        "the ghp_ prefix alone",
        "sk_live_short",
    ],
)
def test_look_alikes_that_are_too_short_are_left_alone(text: str) -> None:
    assert Masker().mask(text) == text


def test_tokens_are_masked_without_configuration_or_environment() -> None:
    masker = Masker.from_environment((), {})
    line = f"curl -H 'Authorization: token {GITHUB_SHAPED}' --data '{{\"t\": \"{SLACK_SHAPED}\"}}'"
    masked = masker.mask(line)
    assert GITHUB_SHAPED not in masked
    assert SLACK_SHAPED not in masked
    assert masked == f"curl -H 'Authorization: token {MASK}' --data '{{\"t\": \"{MASK}\"}}'"


# -- bearer tokens ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-123456", f"Authorization: Bearer {MASK}"),
        ("authorization: bearer opaque+token/value==", f"authorization: bearer {MASK}"),
        ("BEARER   ABCDEFGH1234 trailing", f"BEARER   {MASK} trailing"),
        ("-H 'Authorization: Bearer 0123456789'", f"-H 'Authorization: Bearer {MASK}'"),
    ],
)
def test_bearer_tokens_are_masked(text: str, expected: str) -> None:
    assert Masker().mask(text) == expected


@pytest.mark.parametrize("text", ["Authorization: Bearer short", "a bearer of news", "Bearer"])
def test_short_bearer_values_are_left_alone(text: str) -> None:
    assert Masker().mask(text) == text


# -- everything together ----------------------------------------------------------------


def test_all_kinds_in_one_text() -> None:
    masker = Masker.from_environment(["DEPLOY_HOOK"], {"DEPLOY_HOOK": "hook-secret"})
    text = f"hook-secret postgresql://app:dbpw@db/x Bearer abcdefgh1234 {GITHUB_SHAPED} ok"
    assert masker.mask(text) == f"{MASK} postgresql://app:{MASK}@db/x Bearer {MASK} {MASK} ok"


def test_text_without_secrets_is_unchanged() -> None:
    text = "pnpm --filter web build && supabase db push --linked"
    assert Masker(("never-present",)).mask(text) == text


def test_mask_argv_masks_each_argument() -> None:
    masker = Masker.from_environment(["DEPLOY_HOOK"], {"DEPLOY_HOOK": "hook-secret"})
    argv = [
        "psql",
        "postgresql://app:dbpw@db:5432/x",
        "--set=hook=hook-secret",
        f"--token={GITHUB_SHAPED}",
        "-c",
        "select 1",
    ]
    assert masker.mask_argv(argv) == [
        "psql",
        f"postgresql://app:{MASK}@db:5432/x",
        f"--set=hook={MASK}",
        f"--token={MASK}",
        "-c",
        "select 1",
    ]
    assert argv[2] == "--set=hook=hook-secret"  # the input is not changed


def test_mask_argv_accepts_any_iterable_and_returns_a_list() -> None:
    masker = Masker(("secret-arg",))
    assert masker.mask_argv(arg for arg in ("a", "secret-arg")) == ["a", MASK]
    assert masker.mask_argv(()) == []
