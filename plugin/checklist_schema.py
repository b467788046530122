"""The schema of the checklist file (``checks/runbook.toml``), validated with pydantic."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Selection = Literal["local", "ci", "staging", "production", "rollback"]


class ChecklistEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str
    phase: str
    step: str | None = None
    environments: list[Selection] = Field(min_length=1)
    section: str
    text: str = Field(min_length=1)
    command: str | None = None
    threshold: str | None = None


class ChecklistFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    schema_: int = Field(alias="schema")
    item: list[ChecklistEntry]
