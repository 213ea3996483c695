"""The department registry: fixtures/departments.json into the database, and into the parser."""

import json
from pathlib import Path

from django.conf import settings
from django.db import transaction

from accounts.models import Department

from .parser import Registry

DEFAULT_REGISTRY_PATH = Path(settings.BASE_DIR) / "fixtures" / "departments.json"
# The phrases a functional zone takes on when the city decides zones share district duties.
DISTRICT_GROUP_PHRASES = ["区县人民政府", "市、区县人民政府"]


def load_departments(path: Path = DEFAULT_REGISTRY_PATH) -> dict[str, int]:
    """Create or update every body of the registry file. Running it twice changes nothing."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    created = updated = unchanged = 0
    with transaction.atomic():
        for order, body in enumerate(data["bodies"]):
            fields = {
                "name": body["name"],
                "short_name": body["short_name"],
                "level": body["level"],
                "kind": body["kind"],
                "phrases": body.get("phrases", []),
                "other_names": body.get("other_names", []),
                "note": body.get("note", ""),
                "sort_order": order,
            }
            dept = Department.objects.filter(code=body["code"]).first()
            if dept is None:
                Department.objects.create(code=body["code"], **fields)
                created += 1
            elif any(getattr(dept, k) != v for k, v in fields.items()):
                for key, value in fields.items():
                    setattr(dept, key, value)
                dept.save()
                updated += 1
            else:
                unchanged += 1
    return {"created": created, "updated": updated, "unchanged": unchanged}


def body_phrases(dept: Department) -> list[str]:
    phrases = list(dept.phrases)
    if dept.level == Department.Level.ZONE and settings.ZONES_SHARE_DISTRICT_DUTIES:
        phrases += DISTRICT_GROUP_PHRASES
    return phrases


def build_registry() -> Registry:
    bodies = [
        {"code": d.code, "name": d.name, "phrases": body_phrases(d)}
        for d in Department.objects.filter(active=True).order_by("sort_order", "code")
    ]
    return Registry.from_bodies(bodies)


def lead_department() -> Department | None:
    return Department.objects.filter(code=settings.LEAD_DEPARTMENT_CODE).first()
