"""The README's documented searches on the statement, on the default node (the engine matrix runs the same check)."""

from __future__ import annotations

import pytest

from handler.sources.cloudwatch import encode_subscription_event
from tests.events import AURORA_GROUP, AURORA_STREAM
from tests.integration import readme_searches
from tests.integration.conftest import Forwarder

pytestmark = pytest.mark.integration


def test_readme_searches_find_what_they_say(forwarder: Forwarder) -> None:
    event = encode_subscription_event(readme_searches.LINES, log_group=AURORA_GROUP, log_stream=AURORA_STREAM)
    assert forwarder.invoke(event)["indexed"] == len(readme_searches.LINES)
    readme_searches.check(forwarder.search)
