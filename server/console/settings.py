"""Console settings from the environment (prefix ``HALLWATCH_CONSOLE_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HALLWATCH_CONSOLE_", extra="forbid", env_file=None)

    escalate_after_min: float = Field(
        default=10, gt=0, description="Minutes an alert may stay unacknowledged before it is marked escalated."
    )
    escalation_webhook: str | None = Field(
        default=None, description="URL that receives a JSON POST for every escalated alert (none = no notification)."
    )
    webhook_timeout_s: float = Field(default=5, gt=0, description="Timeout of one webhook POST.")
    escalation_interval_s: float = Field(default=30, gt=0, description="Seconds between escalation sweeps.")
    scheduler_interval_s: float = Field(default=60, gt=0, description="Seconds between automatic safety-check sweeps.")
    result_timeout_s: float = Field(
        default=30, gt=0,
        description="Seconds to wait for the edges' answer to a safety check before judging it from server data alone.",
    )
    background: bool = Field(default=True, description="Run the escalation and safety-check loops in the app.")
