"""The dispatcher's batch handling on the twins: which records SQS keeps (their retry is
scheduled), which it deletes, and outcome counts of one invocation only."""

from __future__ import annotations

from ferry.adapters.memory.target import answers
from ferry.config import RuntimeSettings
from ferry.domain.delivery import AttemptResult
from ferry.sqs_batch import handle
from ferry.wiring import Services
from tests.support.twins import URL, World


class Metrics:
    def __init__(self) -> None:
        self.added: dict[str, float] = {}

    def add_metric(self, *, name: str, unit: object, value: float) -> None:
        self.added[name] = self.added.get(name, 0) + value


def services_on(world: World) -> Services:
    settings = RuntimeSettings(
        queue_url="memory://queue", queue_dlq_url="", fifo_queue_url="memory://queue.fifo",
        fifo_queue_dlq_url="", table_name="", api_token_secret="", signing_key_current_secret="",
        signing_key_next_secret="",
    )  # fmt: skip
    svc = Services(settings=settings, clock=world.clock)
    # (cached_property: these take the place of the AWS adapters.)
    svc.__dict__.update(queue=world.queue, deliver=world.deliver)
    return svc


def sqs_event(world: World) -> dict:
    return {
        "Records": [
            {
                "messageId": m.sqs_message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": {"ApproximateReceiveCount": str(m.receive_count)},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:queue",
            }
            for m in world.queue.receive_raw()
        ]
    }


def test_only_records_waiting_for_a_retry_are_reported_as_batch_item_failures():
    world = World()
    world.target.route(URL, answers(AttemptResult(status=200)))
    world.target.route("https://down.example/", answers(AttemptResult(status=503)))
    world.send()
    failing = world.send("https://down.example/")
    world.queue.send_raw("garbage")
    event = sqs_event(world)
    failing_record = next(r["messageId"] for r in event["Records"] if failing in r["body"])
    metrics = Metrics()
    answer = handle(event, None, metrics=metrics, svc=services_on(world))
    assert answer == {"batchItemFailures": [{"itemIdentifier": failing_record}]}
    assert metrics.added == {
        "Messages_delivered": 1,
        "Messages_retry_scheduled": 1,
        "Messages_dead_lettered": 1,
    }
    assert len(world.queue.unreadable) == 1


def test_each_invocation_reports_only_its_own_outcomes():
    world = World()
    world.target.route(URL, answers(AttemptResult(status=200)))
    svc = services_on(world)
    for _ in range(2):
        world.send()
        metrics = Metrics()
        handle(sqs_event(world), None, metrics=metrics, svc=svc)
        assert metrics.added == {"Messages_delivered": 1}
