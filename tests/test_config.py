"""Config: every key checked once at start; one line naming the key on error."""

from datetime import date, timedelta
from pathlib import Path

import pytest

from aggregator.config import (
    config_from_dict,
    load_config,
    parse_duration,
    require_secrets,
)
from aggregator.errors import ConfigError, redact

ROOT = Path(__file__).resolve().parents[1]


def minimal(**extra):
    data = {"showcase": {"hashtags": ["flächenglühen"]}}
    data.update(extra)
    return data


def test_example_config_loads_and_documents_every_key(tmp_path):
    config = load_config(ROOT / "config.example.toml")
    assert config.showcase.hashtags == ("flächenglühen", "flaechengluehen")
    assert config.showcase.stale_after == timedelta(hours=26)
    assert config.showcase.since == date(2017, 6, 27)
    assert config.youtube is not None and config.youtube.every == timedelta(hours=3)
    assert config.facebook is not None and config.facebook.api_version == "v25.0"
    assert config.output_dir == ROOT / "public"
    text = (ROOT / "config.example.toml").read_text()
    for key in [
        "database",
        "directory",
        "templates",
        "base_url",
        "publish_command",
        "title",
        "intro",
        "hashtags",
        "locale",
        "timezone",
        "stale_after",
        "since",
        "privacy_url",
        "player_order",
        "every",
        "channel",
        "api_key_env",
        "api_endpoint",
        "page",
        "access_token_env",
        "graph_url",
        "api_version",
        "app_secret_env",
        "url",
        "tag",
        "session_hours",
    ]:
        assert f"{key} =" in text, key


def test_relative_paths_resolve_against_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "showcase.toml").write_text(
        '[storage]\ndatabase = "sqlite:///data/showcase.db"\n'
        '[output]\ndirectory = "out"\n[showcase]\nhashtags = ["x"]\n'
    )
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("site/showcase.toml"))
    assert config.database_url == f"sqlite:///{folder}/data/showcase.db"
    assert config.output_dir == folder / "out"


def test_absolute_and_non_sqlite_urls_are_kept(tmp_path):
    for url in ["sqlite:////var/lib/showcase.db", "postgresql://u:p@db/showcase", "sqlite://"]:
        config = config_from_dict(minimal(storage={"database": url}), base_dir=tmp_path)
        assert config.database_url == url


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"showcase": {"hashtags": ["x"], "colour": "red"}}, "showcase.colour"),
        ({"showcase": {"hashtags": ["x"]}, "twitter": {}}, "twitter"),
        ({"showcase": {"hashtags": "x"}}, "showcase.hashtags"),
        ({"showcase": {"hashtags": []}}, "showcase.hashtags"),
        ({"showcase": {"hashtags": ["x"], "stale_after": 26}}, "showcase.stale_after"),
        ({"showcase": {"hashtags": ["x"], "stale_after": "a day"}}, "showcase.stale_after"),
        ({"showcase": {"hashtags": ["x"], "since": "31.02.2017"}}, "showcase.since"),
        ({"showcase": {"hashtags": ["x"], "since": "27.06.17"}}, "showcase.since"),
        ({"showcase": {"hashtags": ["x"], "locale": "xx_YY"}}, "showcase.locale"),
        ({"showcase": {"hashtags": ["x"], "timezone": "Mars/Base"}}, "showcase.timezone"),
        (minimal(youtube={"every": "3h"}), "youtube.channel"),
        (minimal(youtube={"channel": "kreativessachsen"}), "youtube.channel"),
        (minimal(youtube={"channel": "@k", "every": "often"}), "youtube.every"),
        (minimal(youtube={"channel": "@k", "api_endpoint": "ftp://x"}), "youtube.api_endpoint"),
        (minimal(youtube={"channel": "@k", "api_key": "secret"}), "youtube.api_key"),
        (minimal(facebook={"page": 1122334455}), "facebook.page"),
        (minimal(facebook={"page": "p", "api_version": "25"}), "facebook.api_version"),
        (minimal(facebook="page"), "facebook"),
        (minimal(website={"url": "https://example.org"}), "website.tag"),
        (minimal(storage={"database": "not a url"}), "storage.database"),
        (minimal(output={"directory": 3}), "output.directory"),
        (minimal(staff="yes"), "staff"),
        (minimal(staff={"hours": 8}), "staff.hours"),
        (minimal(staff={"session_hours": "8h"}), "staff.session_hours"),
        (minimal(staff={"session_hours": 0}), "staff.session_hours"),
        (minimal(staff={"session_hours": 169}), "staff.session_hours"),
        (minimal(staff={"session_hours": True}), "staff.session_hours"),
    ],
)
def test_bad_config_names_the_key(tmp_path, data, named):
    with pytest.raises(ConfigError) as raised:
        config_from_dict(data, base_dir=tmp_path)
    assert str(raised.value).startswith(named)


@pytest.mark.parametrize("text", ["2017-06-27", "27.06.2017", " 27.6.2017 "])
def test_config_dates_are_written_as_on_the_command_line(tmp_path, text):
    """As `report --since` and `figures set --as-of` take them (figures.parse_day)."""
    data = {"showcase": {"hashtags": ["x"], "since": text}}
    assert config_from_dict(data, base_dir=tmp_path).showcase.since == date(2017, 6, 27)


def test_a_bad_config_date_names_both_ways_to_write_one(tmp_path):
    data = {"showcase": {"hashtags": ["x"], "since": "gestern"}}
    with pytest.raises(ConfigError, match=r"such as 2017-06-27 or 27\.06\.2017$"):
        config_from_dict(data, base_dir=tmp_path)


# Shapes of real secrets (made up here): a Google API key is "AIza" and 35 more characters
# (https://cloud.google.com/docs/authentication/api-keys), a Facebook access token starts with
# "EAA" (https://developers.facebook.com/docs/facebook-login/guides/access-tokens), a Facebook
# app secret is 32 hex digits (the app dashboard's Settings > Basic).
PASTED_SECRETS = [
    ("youtube", "api_key_env", "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", "the key"),
    ("facebook", "access_token_env", "EAABsbCS1iHgBAKZCZBqZA5r2ZBZCcyu8ZDZD", "the token"),
    ("facebook", "app_secret_env", "3f9c2a7be41d08c5f6a1e2d3c4b5a697", "the app secret"),
    ("youtube", "api_key_env", "k8Fj2Lx9qP0aZmW3rT7yU1bN", "the key"),  # long and random
    ("facebook", "access_token_env", "sk-live+k8Fj2Lx9qP0aZmW3rT7yU1bN==", "the token"),
]


@pytest.mark.parametrize(("table", "key", "secret", "what"), PASTED_SECRETS)
def test_a_secret_pasted_as_a_variable_name_is_refused_without_echoing_it(
    tmp_path, table, key, secret, what
):
    settings = {"youtube": {"channel": "@k"}, "facebook": {"page": "p"}}[table]
    data = minimal(**{table: {**settings, key: secret}})
    with pytest.raises(ConfigError) as raised:
        config_from_dict(data, base_dir=tmp_path, environ={})
    assert str(raised.value) == (
        f"{table}.{key}: this looks like {what} itself; put {what} in an environment "
        "variable and name the variable here"
    )
    assert secret not in str(raised.value)
    assert redact(f"later: {secret}") == "later: REDACTED"  # nor anywhere else


@pytest.mark.parametrize("name", ["$YOUTUBE_API_KEY", "YOUTUBE API KEY", "1KEY", "key-name"])
def test_an_env_key_must_be_a_variable_name(tmp_path, name):
    data = minimal(youtube={"channel": "@k", "api_key_env": name})
    with pytest.raises(ConfigError) as raised:
        config_from_dict(data, base_dir=tmp_path, environ={})
    assert str(raised.value).startswith("youtube.api_key_env: not an environment variable name")
    assert name not in str(raised.value)


@pytest.mark.parametrize(
    "name", ["YOUTUBE_API_KEY", "KREATIVES_SACHSEN_YOUTUBE_API_KEY_2024", "yt_key", "_KEY2"]
)
def test_variable_names_of_every_usual_shape_are_accepted(tmp_path, name):
    data = minimal(youtube={"channel": "@k", "api_key_env": name})
    config = config_from_dict(data, base_dir=tmp_path, environ={name: "k-123"})
    assert config.youtube is not None and config.youtube.api_key == "k-123"


def test_missing_secret_names_the_variable(tmp_path):
    data = minimal(youtube={"channel": "@k"}, facebook={"page": "p", "access_token_env": "FB_T"})
    config = config_from_dict(data, base_dir=tmp_path, environ={"YOUTUBE_API_KEY": "k-123456"})
    require_secrets(config, ["youtube"])
    with pytest.raises(ConfigError, match="FB_T"):
        require_secrets(config, ["youtube", "facebook"])


def test_app_secret_is_optional_but_required_once_named(tmp_path):
    plain = minimal(facebook={"page": "p"})
    config = config_from_dict(plain, base_dir=tmp_path, environ={"FACEBOOK_ACCESS_TOKEN": "t-1234"})
    assert config.facebook is not None and config.facebook.app_secret is None
    require_secrets(config, ["facebook"])
    named = minimal(facebook={"page": "p", "app_secret_env": "FB_SECRET"})
    environ = {"FACEBOOK_ACCESS_TOKEN": "t-1234", "FB_SECRET": "s3cret-app"}
    config = config_from_dict(named, base_dir=tmp_path, environ=environ)
    assert config.facebook is not None and config.facebook.app_secret == "s3cret-app"
    assert "s3cret-app" not in repr(config)
    assert redact("proof for s3cret-app") == "proof for REDACTED"
    del environ["FB_SECRET"]
    config = config_from_dict(named, base_dir=tmp_path, environ=environ)
    with pytest.raises(ConfigError, match=r"^facebook.app_secret_env: .*FB_SECRET is not set"):
        require_secrets(config, ["facebook"])


def test_secrets_come_from_the_environment_and_are_redacted(tmp_path):
    data = minimal(youtube={"channel": "@k"})
    config = config_from_dict(data, base_dir=tmp_path, environ={"YOUTUBE_API_KEY": "AIzaSecret99"})
    assert config.youtube is not None and config.youtube.api_key == "AIzaSecret99"
    assert "AIzaSecret99" not in repr(config)
    assert redact("failed: AIzaSecret99 rejected") == "failed: REDACTED rejected"


def test_broken_toml_is_a_config_error(tmp_path):
    path = tmp_path / "showcase.toml"
    path.write_text("[showcase\nhashtags = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("3h", 10800), ("1d", 86400), ("1h30m", 5400)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "3", "h", "0s", "3 hours", "-1h", "1.5h"])
def test_bad_durations(text):
    with pytest.raises(ConfigError):
        parse_duration(text)


def test_redact_removes_keys_and_tokens_from_urls():
    url = "https://x/youtube/v3/videos?part=id&key=AIzaXYZ&alt=json"
    assert "AIzaXYZ" not in redact(url)
    assert "tok123" not in redact("https://graph/v25.0/p/videos?access_token=tok123&after=a")


def test_publish_command_is_split_into_words_and_run_without_a_shell(tmp_path):
    def command(value):
        return config_from_dict(minimal(output={"publish_command": value}), tmp_path)

    assert config_from_dict(minimal(), tmp_path).publish_command is None
    assert command("rsync -a --delete public/ 'web@host:/var/www/show case/'").publish_command == (
        "rsync", "-a", "--delete", "public/", "web@host:/var/www/show case/"
    )  # fmt: skip
    assert command(["sh", "-c", "cp -r public/. /srv/www && echo done"]).publish_command == (
        "sh", "-c", "cp -r public/. /srv/www && echo done"
    )  # fmt: skip
    for bad in ["", "   ", "rsync 'unclosed", [], ["rsync", 3], 42]:
        with pytest.raises(ConfigError, match=r"output\.publish_command"):
            command(bad)


def test_base_url_and_privacy_url_are_optional_urls(tmp_path):
    config = config_from_dict(
        minimal(
            output={"base_url": "https://www.kreatives-sachsen.de/showcase"},
            showcase={"hashtags": ["x"], "privacy_url": "https://www.example.org/datenschutz/"},
        ),
        base_dir=tmp_path,
    )
    assert config.base_url == "https://www.kreatives-sachsen.de/showcase/"
    assert config.showcase.privacy_url == "https://www.example.org/datenschutz/"
    plain = config_from_dict(minimal(), base_dir=tmp_path)
    assert plain.base_url is None and plain.showcase.privacy_url is None
    for data, key in [
        (minimal(output={"base_url": "showcase/"}), "output.base_url"),
        (minimal(output={"base_url": 3}), "output.base_url"),
        (minimal(showcase={"hashtags": ["x"], "privacy_url": "javascript:x"}), "privacy_url"),
    ]:
        with pytest.raises(ConfigError, match=key):
            config_from_dict(data, base_dir=tmp_path)


def test_player_order_names_video_platforms_youtube_first_by_default(tmp_path):
    def order(value):
        showcase = {"hashtags": ["x"], "player_order": value}
        return config_from_dict(minimal(showcase=showcase), base_dir=tmp_path).showcase.player_order

    assert config_from_dict(minimal(), base_dir=tmp_path).showcase.player_order == (
        "youtube",
        "facebook",
    )
    assert order(["facebook"]) == ("facebook",)
    assert order(["facebook", "youtube"]) == ("facebook", "youtube")
    for bad, cause in [
        (["vimeo"], "'vimeo' is not a video platform"),
        (["website"], "'website' is not a video platform"),
        (["youtube", "youtube"], "names a platform twice"),
        ([], "a non-empty list"),
        ("youtube", "a non-empty list"),
    ]:
        with pytest.raises(ConfigError, match=f"^showcase.player_order: {cause}"):
            order(bad)


def test_the_command_line_refuses_a_pasted_key_with_exit_2_and_one_line(tmp_path, capsys):
    from aggregator.cli import main

    secret = PASTED_SECRETS[0][2]
    path = tmp_path / "showcase.toml"
    path.write_text(
        f'[showcase]\nhashtags = ["x"]\n[youtube]\nchannel = "@k"\napi_key_env = "{secret}"\n'
    )
    assert main(["--config", str(path), "update"]) == 2
    out, err = capsys.readouterr()
    assert secret not in out + err and "Traceback" not in err
    assert "youtube.api_key_env: this looks like the key itself" in err
    assert len(err.strip().splitlines()) == 1


def test_staff_is_off_without_its_table_and_lasts_8_hours_by_default(tmp_path):
    """The contract: `[staff]` is optional and enables `serve --staff`; session_hours = 8."""
    assert config_from_dict(minimal(), base_dir=tmp_path).staff is None
    staff = config_from_dict(minimal(staff={}), base_dir=tmp_path).staff
    assert staff is not None and staff.session_hours == 8
    for hours in (1, 12, 168):
        config = config_from_dict(minimal(staff={"session_hours": hours}), base_dir=tmp_path)
        assert config.staff is not None and config.staff.session_hours == hours
    assert load_config(ROOT / "config.example.toml").staff is None  # commented out there
