"""Issue 9 item 8: the bulk time budget of a cancel-all covers finding the candidates, so a slow
listing of thousands of pending messages cannot push the answer past API Gateway's timeout."""

from __future__ import annotations

from ferry.domain.queries import Query
from ferry.usecases.messages import Messages
from tests.support.twins import World


class SlowListing:
    """The history, except that listing events takes `seconds` of the (manual) clock."""

    def __init__(self, history, clock, seconds: float) -> None:
        self._history, self._clock, self._seconds = history, clock, seconds

    def query_events(self, query: Query):
        self._clock.advance(self._seconds)
        return self._history.query_events(query)

    def __getattr__(self, name):
        return getattr(self._history, name)


def pending(world: World, n: int) -> list[str]:
    return [world.send(headers={"Upstash-Delay": "1h"}) for _ in range(n)]


def test_a_listing_that_spends_the_budget_cancels_nothing_and_says_incomplete():
    world = World()
    ids = pending(world, 30)
    slow = SlowListing(world.history, world.clock, seconds=25)
    messages = Messages(history=slow, clock=world.clock, bulk_budget_seconds=20)
    run = messages.cancel_many(query=Query())
    assert not run.complete and sum(run.results) == 0
    assert {world.history.state(i) for i in ids} == {"CREATED"}


def test_a_quick_listing_leaves_the_budget_to_the_cancels():
    world = World()
    ids = pending(world, 30)
    slow = SlowListing(world.history, world.clock, seconds=5)
    messages = Messages(history=slow, clock=world.clock, bulk_budget_seconds=20)
    run = messages.cancel_many(query=Query())
    assert run.complete and sum(run.results) == len(ids)
