"""Names of absence kinds and the one-line text of an approval on a sheet line (exports, notifications)."""

from __future__ import annotations

from typing import Any, Literal

Lang = Literal["zh", "en"]
KIND_NAMES: dict[str, dict[str, str]] = {
    "leave": {"zh": "请假", "en": "leave"},
    "official": {"zh": "公出", "en": "official business"},
    "training": {"zh": "培训", "en": "training"},
    "cover": {"zh": "顶岗", "en": "cover"},
    "pause": {"zh": "暂停服务", "en": "window paused"},
}
BASIS_NAMES: dict[str, dict[str, str]] = {
    "cover": {"zh": "顶岗记录", "en": "cover record"},
    "stand_in": {"zh": "请假由下一岗承担", "en": "next post (holder on approved absence)"},
    "absent_no_cover": {"zh": "请假无人顶岗（计入窗口）", "en": "on approved absence, no cover (window only)"},
}


def kind_name(kind: str, lang: Lang = "zh") -> str:
    return KIND_NAMES.get(kind, {}).get(lang, kind)


def approval_text(approval: dict[str, Any] | None, lang: Lang = "zh") -> str:
    """E.g. '暂停服务 #3 W02 2026-11-23 09:00–11:00 系统升级（批准：王主任）' / 'leave #7 S001 … (approved by …)'."""
    if not approval:
        return ""
    parts = []
    for it in approval.get("items", []):
        who = it.get("staff_id") or it.get("window_id") or ""
        span = f"{(it.get('from') or '')[:16].replace('T', ' ')}–{(it.get('to') or '')[:16].replace('T', ' ')}"
        by = f"（批准：{it.get('approver')}）" if lang == "zh" else f" (approved by {it.get('approver')})"
        reason = f" {it['reason']}" if it.get("reason") else ""
        parts.append(f"{kind_name(it.get('kind', ''), lang)} #{it.get('id')} {who} {span}{reason}{by}")
    lead = {"suppressed": {"zh": "已批准，不扣分：", "en": "approved, not deducted: "},
            "reattributed": {"zh": "责任人依批准调整：", "en": "charged per approval: "}}
    return lead.get(approval.get("effect", ""), {}).get(lang, "") + "; ".join(parts)
