"""`ferry queues ...` and `ferry flow-control ...` against the session's `ferry dev` stack."""

from __future__ import annotations

import json

import pytest

from ferry.cli import main
from tests.integration.test_flow_control import key_of, publish
from tests.support.target import Reply, Target

pytestmark = pytest.mark.integration


@pytest.fixture
def ferry(stack, capsys):
    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--url", stack.url, "--token", stack.secrets.api_token, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_queues_commands_upsert_show_pause_resume_and_delete(ferry, qstash, path):
    name = "cli" + path.replace("/", "_")[:50]
    assert ferry("queues", "upsert", name, "--parallelism", "3", "--paused")[0] == 0
    code, out, _ = ferry("queues", "get", name, "--json")
    assert code == 0 and (json.loads(out)["parallelism"], json.loads(out)["paused"]) == (3, True)
    assert ferry("queues", "resume", name) == (0, f"resumed {name}\n", "")
    assert qstash.queue.get(name).paused is False
    assert ferry("queues", "pause", name)[0] == 0 and qstash.queue.get(name).paused is True
    code, out, _ = ferry("queues", "list")
    assert code == 0 and any(line.startswith(name) and "parallelism 3" in line for line in out.splitlines())
    assert ferry("queues", "delete", name)[0] == 0
    code, _, err = ferry("queues", "get", name)
    assert code == 1 and "404" in err


def test_a_bad_parallelism_is_an_api_error_naming_the_field(ferry):
    code, _, err = ferry("queues", "upsert", "q-cli-bad", "--parallelism", "0")
    assert code == 1 and "parallelism" in err


def test_flow_control_commands_pin_unpin_pause_reset_and_global(ferry, stack, qstash, target: Target, path):
    key = key_of(path)
    target.always(path, Reply())
    publish(stack, target.url(path), b"x", key, "parallelism=5, rate=10, period=60")
    assert ferry("flow-control", "pin", key, "--parallelism", "2", "--rate", "4", "--period", "30")[0] == 0
    code, out, _ = ferry("flow-control", "get", key, "--json")
    info = json.loads(out)
    assert (info["parallelismMax"], info["rateMax"], info["ratePeriod"], info["isPinnedRate"]) == (
        2,
        4,
        30,
        True,
    )
    assert ferry("flow-control", "unpin", key, "--rate")[0] == 0
    assert qstash.flow_control.get(key).is_pinned_rate is False
    assert ferry("flow-control", "pause", key)[0] == 0 and qstash.flow_control.get(key).is_paused is True
    assert ferry("flow-control", "resume", key)[0] == 0 and qstash.flow_control.get(key).is_paused is False
    assert ferry("flow-control", "reset-rate", key)[0] == 0
    code, out, _ = ferry("flow-control", "list", "--search", key[3:])
    assert code == 0 and out.startswith(key)
    code, out, _ = ferry("flow-control", "global")
    assert code == 0 and "in flight of" in out
