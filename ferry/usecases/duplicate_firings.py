"""The delivery step that drops the duplicate firings of a day-of-month OR day-of-week cron.

Such a cron runs on two Scheduler schedules (docs/cron.md); on a day matching both day fields both
fire at the same instants. The second schedule's template carries `second_firing`; its firing at
an instant the first schedule also fires is dropped here, before it becomes a message, so every
instant fires once, as in unix cron.
"""

from __future__ import annotations

from ferry.domain.cron_aws import is_duplicate_firing
from ferry.usecases.delivery_pipeline import Delivery, DeliveryReport, Outcome, Proceed


class DropDuplicateFiring:
    def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
        template = delivery.envelope
        second = template.second_firing
        if (
            template.is_schedule_template
            and second is not None
            and is_duplicate_firing(second.scheduled_time, second.first_expression, second.timezone)
        ):
            return DeliveryReport(outcome=Outcome.DROPPED, retried=0)
        return proceed(delivery)
