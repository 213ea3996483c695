"""Classes of bodies: one phrase of the law, several bodies ("县级以上人民政府" -> the city and
every district and county government), each member carrying its own obligation.

The classes are data (``BodyClass``): seeded once from the registry file, then edited by the admin.
Here they become phrases of their members for the parser's registry, together with the names the
admin mapped onto several bodies or onto a class (``BodyProposal``).
"""

from django.db import transaction

from accounts.models import Department

from .models import BodyClass, BodyProposal


def load_body_classes(entries: list[dict]) -> dict[str, int]:
    """Create the classes of the registry file that the database lacks.

    A class already there is left as it is: after the seed the admin owns the table, and loading
    the registry file again (every ``make run`` does) must not undo an edit.
    """
    codes = dict(Department.objects.values_list("code", "pk"))
    created = kept = 0
    with transaction.atomic():
        for order, entry in enumerate(entries):
            if BodyClass.objects.filter(name=entry["name"]).exists():
                kept += 1
                continue
            missing = [code for code in entry["members"] if code not in codes]
            if missing:
                raise ValueError(f"class {entry['name']}: unknown member codes {missing}")
            body_class = BodyClass.objects.create(
                name=entry["name"],
                phrases=entry.get("phrases", []),
                zones_join=entry.get("zones_join", False),
                note=entry.get("note", ""),
                sort_order=order,
            )
            body_class.members.set([codes[code] for code in entry["members"]])
            created += 1
    return {"created": created, "kept": kept}


def class_phrases() -> dict[int, list[str]]:
    """Body id -> the class phrases that name it, and the names mapped onto several bodies or onto
    a class (as the class stands now, so an edit of a class reaches every later import)."""
    phrases: dict[int, list[str]] = {}

    def add(department_id: int, phrase: str) -> None:
        if phrase not in phrases.setdefault(department_id, []):
            phrases[department_id].append(phrase)

    classes = {c.pk: c for c in BodyClass.objects.prefetch_related("members")}
    members = {pk: [d.pk for d in c.member_bodies()] for pk, c in classes.items()}
    for pk, body_class in classes.items():
        for phrase in body_class.all_phrases():
            for department_id in members[pk]:
                add(department_id, phrase)
    decided = BodyProposal.objects.filter(
        status__in=[BodyProposal.Status.MAPPED_SEVERAL, BodyProposal.Status.MAPPED_CLASS]
    ).prefetch_related("departments")
    for proposal in decided:
        if proposal.body_class_id is not None:
            targets = members.get(proposal.body_class_id, [])
        else:
            targets = [d.pk for d in proposal.departments.all() if d.active]
        for department_id in targets:
            add(department_id, proposal.name)
    return phrases


def file_class_phrases(entries: list[dict]) -> dict[str, list[str]]:
    """Body code -> class phrases, straight from the registry file (no database yet)."""
    phrases: dict[str, list[str]] = {}
    for entry in entries:
        for code in entry["members"]:
            for phrase in [entry["name"], *entry.get("phrases", [])]:
                if phrase not in phrases.setdefault(code, []):
                    phrases[code].append(phrase)
    return phrases
