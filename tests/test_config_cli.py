"""Config loading and the CLI's contract: one clear line and exit code 2 for bad config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[telegram]\ntokn = 'x'\n", "telegram.tokn: unknown key"),
        ("[server]\nport = 'eighty'\n", "server.port: Input should be a valid integer"),
        ("[server\n", "not valid TOML"),
        (
            "[telegram]\ntoken = '1:abc'\n",
            "telegram.token is set for webhook mode but telegram.webhook_secret is not",
        ),
        (
            "[sms]\nauth_token = 'x'\n",
            "SMS is half configured: sms.account_sid, sms.from_number missing",
        ),
        ("timezone = 'Mars/Olympus'\n", "timezone: unknown time zone 'Mars/Olympus'"),
        ("[roles]\ncoordinators = ['12345']\n", "should look like telegram:123"),
        ("[roles]\non_call = ['sim:x']\n", "every on_call entry must also be in coordinators"),
    ],
)
def test_bad_config_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, expected: str
) -> None:
    path = write(tmp_path, body)
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err
    assert len(err.splitlines()) == 1
    assert str(path) in err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--config", str(tmp_path / "nope.toml")]) == 2
    assert (
        capsys.readouterr().err.strip() == f"config error: file not found: {tmp_path / 'nope.toml'}"
    )


def test_check_config_masks_secrets_and_env_overrides_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path,
        "[telegram]\ntoken = '123:file-token'\nwebhook_secret = 'file-secret'\n"
        "[sms]\naccount_sid = 'AC1'\nauth_token = 'sms-secret'\nfrom_number = '+447700900000'\n",
    )
    monkeypatch.setenv("NIGHTOWL_TELEGRAM__TOKEN", "999:env-token")
    monkeypatch.setenv("NIGHTOWL_SERVER__PORT", "9090")
    assert main(["check-config", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    for secret in ("file-token", "env-token", "file-secret", "sms-secret"):
        assert secret not in out + err
    shown = json.loads(out)
    assert shown["server"]["port"] == 9090
    assert shown["telegram"]["token"] == "**********"
    assert "telegram: enabled (webhook)" in err
    assert "sms: enabled" in err
    settings = load_settings(path)
    assert settings.telegram.token is not None
    assert settings.telegram.token.get_secret_value() == "999:env-token"


def test_defaults_need_no_file_and_say_why_channels_are_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None)
    status = settings.channel_status()
    assert status["telegram"] == "disabled: no telegram.token"
    assert status["sms"].startswith("disabled: ")
    assert status["sim"] == "enabled at /sim"
    assert settings.database.url.startswith("sqlite+aiosqlite:///./var/")


def test_sim_is_off_on_a_public_address_unless_switched_on(tmp_path: Path) -> None:
    public = load_settings(write(tmp_path, "[server]\nhost = '0.0.0.0'\n"))
    assert not public.sim_enabled
    forced = load_settings(write(tmp_path, "[server]\nhost = '0.0.0.0'\n[sim]\nenabled = 'on'\n"))
    assert forced.sim_enabled


def test_example_config_is_valid_and_documents_every_key() -> None:
    example = Path(__file__).parents[1] / "config.example.toml"
    settings = load_settings(example)
    text = example.read_text(encoding="utf-8")
    dumped = settings.model_dump()
    sections = {
        **dumped,
        "queues": dumped["queues"][0],
        "escalation": dumped["queues"][0]["escalation"],
    }
    for section, values in sections.items():
        keys = values.keys() if isinstance(values, dict) else [section]
        for key in keys:
            assert f"{key} =" in text or f"{key}]" in text or section == key, (
                f"{section}.{key} is not documented in config.example.toml"
            )


def test_db_upgrade_creates_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "x.db"
    path = write(tmp_path, f"[database]\nurl = 'sqlite+aiosqlite:///{db}'\n")
    assert main(["db", "upgrade", "--config", str(path)]) == 0
    assert db.exists()
    assert main(["db", "upgrade", "--config", str(path)]) == 0  # idempotent
    assert "up to date" in capsys.readouterr().err


def test_config_error_type_is_raised_not_exit(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        load_settings(write(tmp_path, "surprise = 1\n"))
