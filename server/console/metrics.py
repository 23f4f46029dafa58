"""Console counters, rendered at ``/metrics`` together with the core's (appended to ``ALL_COUNTERS``)."""

from __future__ import annotations

from server import metrics as core

ESCALATIONS = core.Counter("hallwatch_alert_escalations_total", "Alerts escalated for being unacknowledged, by hall.")
WEBHOOK_POSTS = core.Counter("hallwatch_escalation_webhook_total", "Escalation webhook POSTs, by result.")
CHECKS = core.Counter("hallwatch_checks_total", "Duty and safety checks, by kind, trigger and outcome.")
CHECK_ERRORS = core.Counter("hallwatch_check_errors_total", "Duty/safety check problems, by kind and reason.")
BACKGROUND_ERRORS = core.Counter("hallwatch_console_loop_errors_total", "Errors caught in console loops, by loop.")

for _c in (ESCALATIONS, WEBHOOK_POSTS, CHECKS, CHECK_ERRORS, BACKGROUND_ERRORS):
    if all(c.name != _c.name for c in core.ALL_COUNTERS):
        core.ALL_COUNTERS.append(_c)
