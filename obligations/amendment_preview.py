"""The lead's amendment preview: what confirming an amended text would do, told by the service
itself.

`amendment_preview` runs `services.regulation_amend` (the very call the confirmation makes, with
the lead's corrections) inside a transaction it rolls back, the way the 台账 preview runs the
ledger import: the lineage and every obligation's outcome (kept, 待复核, new, released, merged,
已废止) are the service's, not a second reckoning of its rules. Nothing is kept but the JSON the
page shows (RegulationUpload.preview): one row per duty of the lineage with both texts, the
word-level differences (regulations.lineage.diff) and the bodies for each outcome.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction

from accounts.models import User
from core import clock
from regulations.importing import current_version
from regulations.lineage import diff, normalise
from regulations.models import Regulation

from . import services
from .models import Carryover

OUTCOME_LABELS = dict(Carryover.Outcome.choices)


def _duty(duty, bodies: dict | None = None) -> dict | None:
    if duty is None:
        return None
    row = {"ref": duty.ref, "citation": duty.citation, "text": duty.text}
    if bodies is not None:
        row["bodies"] = bodies.get(duty.key, [])
    return row


def amendment_preview(
    *,
    regulation: Regulation,
    text: str,
    effective: dt.date,
    kind: str,
    actor: User,
    corrections: list[tuple] | None = None,
) -> dict:
    """The preview as JSON. RegulationFormatError (in Chinese) for a text that is not an
    amendment of `regulation` or a correction that does not fit; nothing is written either way."""
    corrections = [tuple(c) for c in corrections or []]
    # The outcomes do not depend on the day; a run dated today shows what the confirmation does
    # even where a confirmation ahead of the effective date would wait for it.
    run_on = min(effective, clock.today())
    with transaction.atomic():
        regulation = Regulation.objects.select_for_update().get(pk=regulation.pk)
        base = current_version(regulation)
        result = services.regulation_amend(
            regulation=regulation, text=text, effective=run_on, actor=actor, kind=kind, corrections=corrections
        )
        bodies = {s.clause.pk: [d.name for d in s.responsible] for s in result.report.clauses}
        outcomes: dict[tuple, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        totals: dict[str, int] = defaultdict(int)
        for row in Carryover.objects.filter(version=result.version).select_related("obligation__department"):
            outcomes[(row.old_clause_id, row.new_clause_id)][row.outcome].append(row.obligation.department.name)
            totals[row.outcome] += 1
        rows = []
        for link in result.lineage.links:
            old, new = link.old, link.new
            changed = old is not None and new is not None and normalise(old.text) != normalise(new.text)
            found = outcomes.get((old.key if old else None, new.key if new else None), {})
            rows.append(
                {
                    "kind": link.kind,
                    "label": link.label,
                    "corrected": link.as_tuple() in corrections,
                    "old": _duty(old),
                    "new": _duty(new, bodies),
                    "diff": [list(run) for run in diff(old.text, new.text)] if changed else [],
                    "outcomes": [
                        {"outcome": value, "label": label, "bodies": found[value]}
                        for value, label in Carryover.Outcome.choices
                        if value in found
                    ],
                }
            )
        old_duties = sorted({id(r): r for r in (link.old for link in result.lineage.links) if r}.values(), key=_at)
        new_duties = sorted({id(r): r for r in (link.new for link in result.lineage.links) if r}.values(), key=_at)
        preview = {
            "title": result.regulation.title,
            "version_label": result.version.label,
            "base_version": base.number,
            "base_label": base.label,
            "counts": result.lineage.counts(),
            "outcomes": {value: totals.get(value, 0) for value, _ in Carryover.Outcome.choices},
            "rows": rows,
            "old_duties": [_duty(d) for d in old_duties],
            "new_duties": [_duty(d) for d in new_duties],
            "corrections": [list(c) for c in corrections],
        }
        transaction.set_rollback(True)
    return preview


def _at(duty):
    return duty.position


def outcome_summary(outcomes: dict[str, int]) -> str:
    """保留原义务 52，保留原义务，待复核 6 … (those that occur), for the page and the message."""
    return "；".join(f"{OUTCOME_LABELS[value]} {n}" for value, n in outcomes.items() if n) or "无义务变动"
