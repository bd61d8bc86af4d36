"""What one tenant may put into the shared stores (Loki, Tempo) and scrape, by its size: fixed by the platform, applied
per tenant by the tenant-configuration job (imaas/declarations/tenant_config.py) and the tenant's PodMonitor."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from imaas.model.base import InputModel
from imaas.model.tenant import SizeName


class ObservabilityLimits(InputModel):
    """What one tenant may put into the shared stores, per size preset: each store refuses the excess of one tenant
    instead of slowing down every tenant. Fixed by the platform, not a stack
    setting: docs/settings.md shows them."""

    log_rate_mb: Annotated[float, Field(gt=0, le=1024)] = Field(description="Loki ingestion rate, MB/s.")
    log_burst_mb: Annotated[float, Field(gt=0, le=4096)] = Field(description="Loki ingestion burst, MB.")
    log_retention_days: Annotated[int, Field(ge=1, le=3650)] = Field(description="Days Loki keeps the logs.")
    trace_rate_mb: Annotated[float, Field(gt=0, le=1024)] = Field(description="Tempo ingestion rate, MB/s.")
    trace_burst_mb: Annotated[float, Field(gt=0, le=4096)] = Field(description="Tempo ingestion burst, MB.")
    max_live_traces: Annotated[int, Field(ge=1, le=10_000_000)] = Field(
        description="Traces Tempo holds in memory for the tenant at once."
    )
    trace_retention_days: Annotated[int, Field(ge=1, le=3650)] = Field(description="Days Tempo keeps the traces.")
    scrape_samples: Annotated[int, Field(ge=1)] = Field(
        description="Samples per scrape of the platform's PodMonitor (its sampleLimit); the tenant Prometheus's "
        "enforced sampleLimit caps it."
    )


OBSERVABILITY_LIMITS: dict[SizeName, ObservabilityLimits] = {
    "small": ObservabilityLimits(
        log_rate_mb=2, log_burst_mb=4, log_retention_days=14, trace_rate_mb=1, trace_burst_mb=2,
        max_live_traces=5_000, trace_retention_days=7, scrape_samples=10_000,
    ),
    "medium": ObservabilityLimits(
        log_rate_mb=4, log_burst_mb=8, log_retention_days=30, trace_rate_mb=3, trace_burst_mb=6,
        max_live_traces=20_000, trace_retention_days=14, scrape_samples=25_000,
    ),
    "large": ObservabilityLimits(
        log_rate_mb=10, log_burst_mb=20, log_retention_days=30, trace_rate_mb=8, trace_burst_mb=16,
        max_live_traces=50_000, trace_retention_days=14, scrape_samples=50_000,
    ),
}  # fmt: skip
