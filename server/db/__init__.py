"""Database models (SQLAlchemy 2.0, typed). Import from here: ``from server.db import Alert, Finding``.

Every model module is imported so ``Base.metadata`` is complete for Alembic.
"""

from server.db.accounts import ROLES, AuditLog, ProcessedMessage, User
from server.db.base import Base, UTCDateTime, utcnow
from server.db.checks import DutyCheck, DutyCheckWindow, Handover, PatrolFinding, SafetyCheck, SafetyCheckItem
from server.db.findings import ALERT_STATUSES, Alert, AlertEvent, Evidence, Finding, FindingEvidence
from server.db.security import EvidenceHall, LoginThrottle
from server.db.site import Camera, Edge, Hall, RosterAssignment, Sensor, SensorReadingRow, Staff, Window, WindowStateRow

__all__ = [
    "ALERT_STATUSES", "ROLES", "Alert", "AlertEvent", "AuditLog", "Base", "Camera", "DutyCheck", "DutyCheckWindow",
    "Edge", "Evidence", "EvidenceHall", "Finding", "FindingEvidence", "Hall", "Handover", "LoginThrottle",
    "PatrolFinding", "ProcessedMessage", "RosterAssignment", "SafetyCheck", "SafetyCheckItem", "Sensor",
    "SensorReadingRow", "Staff", "User", "WindowStateRow",
    "UTCDateTime", "Window", "utcnow",
]
