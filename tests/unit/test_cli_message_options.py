"""The CLI's message options turn a bare number of seconds into `<n>s`, and nothing else."""

from __future__ import annotations

import pytest

from ferry.cli_message_options import duration


@pytest.mark.parametrize(("given", "sent"), [("30", "30s"), (" 5 ", "5s"), ("2m", "2m"), ("1h30m", "1h30m")])
def test_a_bare_number_is_seconds(given, sent):
    assert duration(given) == sent


@pytest.mark.parametrize("given", ["\u0663", "\u00b2"])
def test_digits_of_other_scripts_go_as_typed_for_the_api_to_refuse(given):
    # str.isdigit() takes them; "٣s" would read as a duration the user did not type.
    assert duration(given) == given
