"""What a process builds once from its Settings and passes to every job: the OpenSearch client, the bulk writer,
the dead-letter store, AWS clients, and the pipelines of each index family (which make sure their index template
exists before their first write)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from handler.config import Settings
from handler.detect.event_rules import event_rules
from handler.pipeline import ACTIVITY, AUDIT, FINDINGS, Pipeline
from handler.sinks.bulk import BulkWriter
from handler.sinks.dead_letter import DeadLetterStore, dead_letter_store
from handler.transforms.batch import TransformOptions

if TYPE_CHECKING:
    from collections.abc import Iterable

    from opensearchpy import OpenSearch

    from handler.setup.engine import Engine

logger = logging.getLogger("rdsaudit")


class Runtime:
    def __init__(
        self,
        settings: Settings,
        client: OpenSearch | Any,
        writer: BulkWriter,
        dead_letters: DeadLetterStore | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.writer = writer
        self.dead_letters = dead_letters or dead_letter_store(settings.dead_letter, lambda: self.aws("s3"))
        from handler.setup.engine import for_settings

        self._engine = for_settings(settings)  # known without asking only on Serverless
        self.options = TransformOptions(
            index_prefix=settings.index_prefix,
            mask_secrets=settings.mask_secrets,
            # Serverless time series and vector collections assign ids themselves and refuse ours.
            document_ids=not (self._engine is not None and self._engine.generates_ids),
            detections=event_rules(settings.detections),
        )
        self.templates_checked: set[str] = set()  # families whose template was checked in this process
        self._pipelines: dict[str, Pipeline] = {}
        self._aws: dict[str, Any] = {}
        self._session: Any = None

    def pipeline(self, family: str = AUDIT) -> Pipeline:
        if family not in self._pipelines:
            self._pipelines[family] = Pipeline(
                self.writer,
                self.dead_letters,
                family=family,
                mask=self.settings.mask_secrets,
                ensure_template=lambda: self.ensure_template(family),
            )
        return self._pipelines[family]

    def ensure_template(self, family: str = AUDIT) -> None:
        """Install or update the family's index template, once per process (RDSAUDIT_ENSURE_TEMPLATE)."""
        if family in self.templates_checked or not self.settings.ensure_template:
            return
        from handler.mappings import activity_index_template, findings_index_template, index_template
        from handler.setup import ClusterSetup

        prefix = self.settings.activity_prefix if family == ACTIVITY else self.settings.index_prefix
        if family == FINDINGS:  # the detect job's; `rdsaudit setup` installs it, the job may only read it
            body, name = findings_index_template(prefix), f"{prefix}-findings"
        elif family == ACTIVITY:
            body, name = activity_index_template(prefix), prefix
        else:
            body, name = index_template(prefix, self.engine()), prefix
        ClusterSetup(self.client, prefix, engine=self.engine()).template(body, name)
        self.templates_checked.add(family)

    def make_searchable(self, indices: Iterable[str]) -> str | None:
        """Refresh the indices a command wrote, so that what it wrote is searchable when it exits (a report run right
        after a backfill sees all of it); a line to print instead where that cannot be done."""
        names = sorted(set(indices))
        if not names:
            return None
        if self.engine().serverless:
            return (
                "OpenSearch Serverless has no refresh: what was written becomes searchable on the collection's own "
                "schedule, within seconds"
            )
        from opensearchpy.exceptions import TransportError

        try:
            for i in range(0, len(names), 50):  # the names go in the URL
                self.client.indices.refresh(index=",".join(names[i : i + 50]), ignore_unavailable=True)
        except TransportError as e:
            return (
                f"could not refresh what was written ({e.status_code}): "
                "it becomes searchable after the indices' refresh interval"
            )
        return None

    def engine(self) -> Engine:
        """The engine behind the endpoint, asked once per process (GET /); refuses engines too old to write to."""
        if self._engine is None:
            from handler.setup.engine import detect

            self._engine = detect(self.client)
        return self._engine

    def deadline(self, context: Any) -> float | None:
        """The invocation's deadline on the writer's clock, the one its deadline checks read."""
        return deadline_of(context, self.settings.deadline_margin, self.writer.clock)

    def aws(self, service: str) -> Any:
        """One boto3 client per service, in the configured region (AWS_REGION as well as AWS_DEFAULT_REGION)."""
        if service not in self._aws:
            self._aws[service] = self._boto_session().client(service)
        return self._aws[service]

    def aws_credentials(self) -> Any:
        return self._boto_session().get_credentials()

    def _boto_session(self) -> Any:
        if self._session is None:
            import boto3  # off the forwarder's cold path: only jobs that talk to AWS pay for it

            self._session = boto3.Session(region_name=self.settings.aws_region or None)
        return self._session


def build_runtime(settings: Settings) -> Runtime:
    from handler.sinks.opensearch import build_client, bulk_sender

    client = build_client(settings)
    writer = BulkWriter(
        bulk_sender(client),
        max_bytes=settings.bulk_max_bytes,
        max_actions=settings.bulk_max_actions,
        max_attempts=settings.max_attempts,
        request_timeout=settings.request_timeout,
    )
    return Runtime(settings, client, writer)


def deadline_of(context: Any, margin: float, clock: Callable[[], float] = time.monotonic) -> float | None:
    """The time on `clock` by which an invocation must have recorded its outcome, from Lambda's context."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining_ms):
        return None
    return clock() + float(remaining_ms()) / 1000 - margin
