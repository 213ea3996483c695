"""The department registry: fixtures/departments.json into the database, and into the parser."""

import json
from pathlib import Path

from django.conf import settings
from django.db import transaction

from accounts.models import Department

from .classes import class_phrases, file_class_phrases, load_body_classes
from .models import BodyClass, BodyProposal
from .parser import Registry

DEFAULT_REGISTRY_PATH = Path(settings.BASE_DIR) / "fixtures" / "departments.json"


def load_departments(path: Path = DEFAULT_REGISTRY_PATH) -> dict[str, int]:
    """Create or update every body of the registry file, then seed its classes of bodies (those the
    database lacks: regulations.classes). Running it twice changes nothing."""
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
        load_body_classes(data.get("classes", []))
    return {"created": created, "updated": updated, "unchanged": unchanged}


def build_registry() -> Registry:
    """The parser's registry: each body's phrases, the names the admin confirmed for it, and the
    phrases of the classes it belongs to (regulations.classes)."""
    confirmed: dict[int, list[str]] = {}
    decided = BodyProposal.objects.exclude(status=BodyProposal.Status.PROPOSED).exclude(department=None)
    for name, department_id in decided.values_list("name", "department_id"):
        confirmed.setdefault(department_id, []).append(name)
    in_classes = class_phrases()
    bodies = [
        {"code": d.code, "name": d.name, "phrases": d.phrases + confirmed.get(d.id, []) + in_classes.get(d.id, [])}
        for d in Department.objects.filter(active=True).order_by("sort_order", "code")
    ]
    return Registry.from_bodies(bodies)


def registry_from_file(path: Path = DEFAULT_REGISTRY_PATH) -> tuple[Registry, dict[str, str]]:
    """The registry and body names straight from the registry file, for a database not yet migrated."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    classes = data.get("classes", [])
    if settings.ZONES_SHARE_DISTRICT_DUTIES:
        zones = [b["code"] for b in data["bodies"] if b["level"] == Department.Level.ZONE]
        classes = [{**c, "members": c["members"] + zones} if c.get("zones_join") else c for c in classes]
    in_classes = file_class_phrases(classes)
    bodies = [{**b, "phrases": b.get("phrases", []) + in_classes.get(b["code"], [])} for b in data["bodies"]]
    return Registry.from_bodies(bodies), {b["code"]: b["name"] for b in bodies}


def database_ready() -> bool:
    """Whether ``migrate`` has created the registry's tables (False too when there is no database)."""
    from django.db import DatabaseError, connection

    try:
        tables = connection.introspection.table_names()
    except DatabaseError:
        return False
    return all(model._meta.db_table in tables for model in (Department, BodyProposal, BodyClass))


# Level and kind of a body, read from how its name ends: "浦东新区" a district government,
# "市大数据中心" a city body, "…管理委员会" a zone. The admin confirms or corrects them.
def proposed_level_and_kind(name: str) -> tuple[str, str]:
    if name.endswith(("管理委员会", "管委会")):
        return Department.Level.ZONE, Department.Kind.ZONE
    if name.endswith(("法院", "检察院")):
        kind = Department.Kind.COURT
    elif name.endswith(("人民政府", "新区", "区", "县")):
        kind = Department.Kind.GOVERNMENT
    else:
        kind = Department.Kind.DEPARTMENT
    lower = name.startswith(("区", "县")) or (kind == Department.Kind.GOVERNMENT and not name.startswith("市"))
    return (Department.Level.DISTRICT if lower else Department.Level.CITY), kind


def lead_department() -> Department | None:
    return Department.objects.filter(code=settings.LEAD_DEPARTMENT_CODE).first()
