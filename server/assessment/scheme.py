"""The assessment scheme (考核细则) as configuration.

A scheme describes a quarterly window assessment the way the halls' rule books do
(e.g. 巷子口镇政务服务中心窗口季度考核: 百分制, 实得分 = 总分 + 实得加分 − 实际扣分):

- a base score (100), categories (考核内容), bonus items (加分) and deduction items (扣分);
- which rule ids of the edge (``edge.contract.RULES``) a deduction item covers, with optional
  duration tiers (擅自离开工作岗位 ≥ 30 min −0.5, > 1 h −1; shorter episodes are not deducted);
- the monthly doubling (一个月违反同一规定三次以上(含三次)的，实行加倍扣分).

Loading reuses the site config's YAML-with-line-numbers helpers, so every error points at its line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from edge.contract import RULES
from edge.paths import PROJECT_ROOT
from edge.site import ID_PATTERN
from edge.yamlconfig import load_yaml_model

DEFAULT_SCHEME_PATH = PROJECT_ROOT / "configs" / "assessment" / "default.yaml"

ItemId = Annotated[str, Field(pattern=ID_PATTERN, description="Identifier: letters, digits, '_', '-', '.'.")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Model):
    """A block of the assessment (考核内容), e.g. 工作纪律."""

    id: ItemId = Field(description="Category identifier.")
    name: str = Field(min_length=1, description="Chinese name shown on sheets.")
    name_en: str = Field(min_length=1, description="English name for the English export.")


class Tier(_Model):
    """One duration step of an item. Give exactly one of ``from_s`` (≥, 达…以上) or ``over_s`` (>, 超过…)."""

    from_s: float | None = Field(default=None, ge=0, description="Applies when duration_s >= from_s (inclusive).")
    over_s: float | None = Field(default=None, ge=0, description="Applies when duration_s > over_s (exclusive).")
    points: float = Field(gt=0, description="Points deducted by one occurrence in this tier (before doubling).")
    label: str = Field(min_length=1, description="Short text shown on the sheet, e.g. '≥30分钟'.")
    label_en: str | None = Field(default=None, description="English label; defaults to label.")

    @model_validator(mode="after")
    def _one_bound(self) -> "Tier":
        if (self.from_s is None) == (self.over_s is None):
            raise ValueError("a tier needs exactly one of 'from_s' (>=) or 'over_s' (>)")
        return self

    @property
    def bound(self) -> float:
        return self.from_s if self.from_s is not None else self.over_s  # type: ignore[return-value]

    def matches(self, duration_s: float) -> bool:
        if self.from_s is not None:
            return duration_s >= self.from_s
        return duration_s > self.over_s  # type: ignore[operator]


class DeductionItem(_Model):
    """A deduction item (扣分项). Findings of the listed rules become deductions; items without rules are
    entered by a supervisor (e.g. 旷工 from the attendance record)."""

    id: ItemId = Field(description="Item identifier, stable across periods (exports and amendments use it).")
    category: ItemId = Field(description="Category id this item belongs to.")
    name: str = Field(min_length=1, description="Chinese wording of the item, as in the rule book.")
    name_en: str = Field(min_length=1, description="English wording.")
    clause: str | None = Field(default=None, description="Where the rule book says so, e.g. '第五章(十七)'.")
    rules: list[str] = Field(default_factory=list, description="Rule ids (edge.contract.RULES) scored by this item.")
    points: float | None = Field(
        default=None, gt=0, description="Points per occurrence (每人次/每次) when the item has no tiers."
    )
    tiers: list[Tier] = Field(
        default_factory=list,
        description="Duration tiers: the highest matching tier applies; an episode matching none is not deducted.",
    )
    attribute_to: Literal["staff", "window"] = Field(
        default="staff",
        description="staff: charged to the person on duty by the roster (每人次); window: charged to the window "
        "without a person (e.g. equipment left on after work, 每次).",
    )
    doubling: bool = Field(default=True, description="Whether the monthly doubling applies to this item.")

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, rules: list[str]) -> list[str]:
        unknown = [r for r in rules if r not in RULES]
        if unknown:
            raise ValueError(f"unknown rule id(s) {unknown}; known: {sorted(RULES)}")
        return rules

    @field_validator("tiers")
    @classmethod
    def _ordered(cls, tiers: list[Tier]) -> list[Tier]:
        bounds = [t.bound for t in tiers]
        if bounds != sorted(bounds):
            raise ValueError("tiers must be ordered by duration, shortest first")
        return tiers

    @field_validator("category")
    @classmethod
    def _known_category(cls, category: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("category_ids")  # given by load_scheme, so the error has its line
        if known is not None and category not in known:
            raise ValueError(f"unknown category {category!r}; categories: {sorted(known)}")
        return category

    @model_validator(mode="after")
    def _points_or_tiers(self) -> "DeductionItem":
        if (self.points is None) == (not self.tiers):
            raise ValueError("a deduction item needs either 'points' or 'tiers' (not both)")
        return self

    def tier_for(self, duration_s: float | None) -> Tier | None:
        """Highest tier matched by the duration; None when no tier matches (or the duration is unknown)."""
        if duration_s is None:
            return None
        matched = [t for t in self.tiers if t.matches(duration_s)]
        return matched[-1] if matched else None


class BonusItem(_Model):
    """A bonus item (加分项), entered by a supervisor with its justification."""

    id: ItemId = Field(description="Item identifier.")
    name: str = Field(min_length=1, description="Chinese wording.")
    name_en: str = Field(min_length=1, description="English wording.")
    clause: str | None = Field(default=None, description="Where the rule book says so, e.g. '第四章(一)'.")
    points: float = Field(gt=0, description="Points per entry (每项/每件次/每条).")
    max_per_month: float | None = Field(default=None, gt=0, description="Cap of this item per calendar month.")
    max_per_period: float | None = Field(default=None, gt=0, description="Cap of this item per scored period.")


class Doubling(_Model):
    """The monthly doubling (一个月违反同一规定三次以上(含三次)的，实行加倍扣分)."""

    threshold: int = Field(default=3, ge=2, description="Occurrences of one item in one calendar month that double.")
    mode: Literal["whole_month", "from_threshold"] = Field(
        default="whole_month",
        description="whole_month: once the threshold is reached, every deduction of that item in that month is "
        "doubled; from_threshold: only the threshold-th occurrence and later ones are doubled.",
    )
    factor: float = Field(default=2.0, gt=1, description="Multiplier of doubled deductions.")


class Scheme(_Model):
    """A whole assessment scheme."""

    version: Literal[1] = Field(default=1, description="Scheme file format version.")
    id: ItemId = Field(description="Scheme identifier, stored with every signed-off sheet.")
    name: str = Field(min_length=1, description="Title printed on sheets, e.g. '窗口季度考核'.")
    name_en: str = Field(min_length=1, description="English title.")
    source: str | None = Field(default=None, description="Rule book the scheme follows.")
    base_points: float = Field(default=100, gt=0, description="Base score of a period (总分).")
    doubling: Doubling = Field(default_factory=Doubling, description="Monthly doubling of repeated items.")
    categories: list[Category] = Field(min_length=1, description="Categories (考核内容).")
    deductions: list[DeductionItem] = Field(min_length=1, description="Deduction items (扣分办法).")
    bonuses: list[BonusItem] = Field(default_factory=list, description="Bonus items (加分办法).")

    @model_validator(mode="after")
    def _refs(self) -> "Scheme":
        errors: list[str] = []
        ids = [c.id for c in self.categories]
        item_ids = [d.id for d in self.deductions] + [b.id for b in self.bonuses]
        for kind, seq in (("category", ids), ("item", item_ids)):
            dup = sorted({i for i in seq if seq.count(i) > 1})
            if dup:
                errors.append(f"duplicate {kind} id(s) {dup}")
        for d in self.deductions:
            if d.category not in ids:
                errors.append(f"deduction {d.id}: unknown category {d.category!r}")
        seen: dict[str, str] = {}
        for d in self.deductions:
            for r in d.rules:
                if r in seen:
                    errors.append(f"rule {r!r} is mapped by both {seen[r]!r} and {d.id!r}")
                seen[r] = d.id
        if errors:
            raise ValueError("; ".join(errors))
        return self

    # -- lookups --
    def item_for_rule(self, rule: str) -> DeductionItem | None:
        return next((d for d in self.deductions if rule in d.rules), None)

    def deduction(self, item_id: str) -> DeductionItem | None:
        return next((d for d in self.deductions if d.id == item_id), None)

    def bonus(self, item_id: str) -> BonusItem | None:
        return next((b for b in self.bonuses if b.id == item_id), None)

    def category(self, category_id: str) -> Category:
        return next(c for c in self.categories if c.id == category_id)

    def unmapped_rules(self) -> list[str]:
        """Rule ids that never affect a score under this scheme (safety, device health …)."""
        mapped = {r for d in self.deductions for r in d.rules}
        return [r for r in RULES if r not in mapped]


def load_scheme(path: str | os.PathLike[str] | None = None) -> Scheme:
    """Load and validate a scheme YAML (default: configs/assessment/default.yaml or
    ``HALLWATCH_ASSESSMENT_SCHEME``); raise ``edge.site.ConfigError`` listing every problem with its line."""
    p = Path(path or os.environ.get("HALLWATCH_ASSESSMENT_SCHEME") or DEFAULT_SCHEME_PATH)

    def context_of(data: dict[str, Any]) -> dict[str, Any] | None:
        cats = data.get("categories")
        if not isinstance(cats, list):
            return None
        return {"category_ids": {c.get("id") for c in cats if isinstance(c, dict)}}

    return load_yaml_model(p, Scheme, context_of)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the scheme file (exported by ``hallwatch config schema``)."""
    schema = Scheme.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://hallwatch.example/schema/assessment-scheme.json"
    return schema
