"""Classes of bodies: a phrase that names a set of bodies ("县级以上人民政府") resolves to each
member, each carrying its own obligation; the class table is the admin's data; a body the registry
lacks can be mapped onto several bodies or onto a class; every decision is audited."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import Department
from core.errors import InvalidInput, NotAllowed
from obligations import services
from obligations.models import AuditEntry, Obligation
from obligations.seeding import import_regulation
from regulations.models import BodyClass, BodyProposal, Clause
from regulations.registry import build_registry, load_departments

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PROVINCE = FIXTURES / "shandong-informatization-promotion-2018.txt"
GOVERNMENTS = 13  # 市人民政府 and the twelve district and county governments
ZONES = ["JN-GXQ", "JN-QBQ", "JN-NBSQ"]


def import_province():
    return import_regulation(PROVINCE.read_text(encoding="utf-8"), code="shandong-informatization")


def holders(article: int, paragraph: int = 1) -> list[str]:
    obligations = Obligation.objects.filter(
        clause__regulation__code="shandong-informatization",
        clause__article__number=article,
        clause__paragraph_number=paragraph,
        superseded_at__isnull=True,
    )
    return sorted(obligations.values_list("department__code", flat=True))


def new_entries(before: int) -> list[tuple[str, str]]:
    return list(AuditEntry.objects.order_by("id")[before:].values_list("action", "actor__username"))


@pytest.fixture
def admin_client(client, cast):
    adam = cast["adam"]  # the admin role: staff with every permission, not a superuser
    adam.is_staff = True
    adam.save()
    adam.user_permissions.set(Permission.objects.all())
    client.force_login(adam)
    return client


def test_the_registry_seeds_jinans_classes_and_a_class_phrase_names_every_member(departments):
    classes = {c.name: c for c in BodyClass.objects.all()}
    assert set(classes) == {"区县人民政府", "市、区县人民政府", "县级以上人民政府", "各级人民政府"}
    assert len(classes["区县人民政府"].member_bodies()) == 12
    assert len(classes["县级以上人民政府"].member_bodies()) == GOVERNMENTS
    registry = build_registry()
    for phrase, count in [
        ("县级以上人民政府", GOVERNMENTS),
        ("县级以上地方人民政府", GOVERNMENTS),
        ("各级人民政府", GOVERNMENTS),
        ("各区县人民政府", 12),
        ("市、区县人民政府", GOVERNMENTS),
        ("区县人民政府有关部门", 12),
        ("县级以上人民政府工业和信息化部门", 1),  # a department of those governments: only the department
    ]:
        assert len(registry.resolve(phrase).codes) == count, phrase
    # The bodies no longer carry the class phrases themselves: the class table is the one place.
    assert not Department.objects.filter(phrases__contains=["区县人民政府"]).exists()


def test_a_class_phrase_gives_one_obligation_per_member(departments):
    report = import_province()
    # 第四条第一款 县级以上人民政府应当加强对信息化工作的领导: the city and every district and county.
    members = sorted(d.code for d in BodyClass.objects.get(name="县级以上人民政府").member_bodies())
    assert holders(4) == members and len(members) == GOVERNMENTS
    entries = AuditEntry.objects.filter(action="obligation.created", obligation__clause__article__number=4)
    assert entries.filter(obligation__clause__regulation=report.regulation).count() == 2 * GOVERNMENTS  # 第一、二款


def test_zones_join_a_class_when_the_city_says_they_share_district_duties(departments, settings):
    settings.ZONES_SHARE_DISTRICT_DUTIES = True
    import_province()
    assert set(ZONES) <= set(holders(4)) and len(holders(4)) == GOVERNMENTS + len(ZONES)


def test_an_admin_edit_of_a_class_changes_the_next_import_and_is_audited(departments, admin_client):
    body_class = BodyClass.objects.get(name="县级以上人民政府")
    members = [d.pk for d in body_class.members.exclude(code="JN-SHANGHE")]
    before = AuditEntry.objects.count()
    url = reverse("admin:regulations_bodyclass_change", args=[body_class.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url,
        {
            "name": "县级以上人民政府",
            "phrase_text": "县级以上地方人民政府\n县级以上各级人民政府",
            "members": members,
            "note": "x",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [entry] = AuditEntry.objects.filter(pk__gt=AuditEntry.objects.order_by("id")[before - 1].pk if before else 0)
    assert (entry.action, entry.actor.username) == ("registry.class_changed", "adam")
    assert "JN-SHANGHE" in entry.before["members"] and "JN-SHANGHE" not in entry.after["members"]
    assert entry.after["phrases"] == ["县级以上地方人民政府", "县级以上各级人民政府"]
    assert entry.after["zones_join"] is False

    import_province()
    assert len(holders(4)) == GOVERNMENTS - 1 and "JN-SHANGHE" not in holders(4)
    assert len(build_registry().resolve("县级以上各级人民政府").codes) == GOVERNMENTS - 1
    # Loading the registry file again (every start does) keeps the admin's edit.
    load_departments()
    assert not BodyClass.objects.get(pk=body_class.pk).members.filter(code="JN-SHANGHE").exists()


def test_a_class_edit_is_refused_with_a_clear_message(departments, admin_client, cast):
    body_class = BodyClass.objects.get(name="各级人民政府")
    url = reverse("admin:regulations_bodyclass_change", args=[body_class.pk])
    members = list(body_class.members.values_list("pk", flat=True))
    # A phrase already another class's would make one phrase name two classes.
    response = admin_client.post(
        url, {"name": "各级人民政府", "phrase_text": "县级以上人民政府", "members": members}, follow=True
    )
    assert "已属于机构类别“县级以上人民政府”" in response.content.decode()
    assert BodyClass.objects.get(pk=body_class.pk).phrases == []
    # No members: the form says so.
    response = admin_client.post(url, {"name": "各级人民政府", "members": []})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    with pytest.raises(NotAllowed):
        services.body_class_save(actor=cast["lena"], body_class=body_class, name="各级人民政府", members=[])
    with pytest.raises(InvalidInput):
        services.body_class_save(actor=cast["adam"], name="  ", members=list(body_class.members.all()))
    assert not AuditEntry.objects.filter(action__startswith="registry.class").exists()


def test_the_admin_creates_a_class(departments, admin_client):
    members = [departments["JN-GXJ"].pk, departments["JN-DSJ"].pk]
    response = admin_client.post(
        reverse("admin:regulations_bodyclass_add"),
        {"name": "信息化主管部门", "phrase_text": "", "members": members},
    )
    assert response.status_code == 302
    created = BodyClass.objects.get(name="信息化主管部门")
    assert {d.code for d in created.member_bodies()} == {"JN-GXJ", "JN-DSJ"}
    entry = AuditEntry.objects.get(action="registry.class_created")
    assert entry.after["members"] == ["JN-DSJ", "JN-GXJ"] and entry.before == {}


def test_a_proposal_mapped_onto_a_class_creates_one_obligation_per_member_with_audit_entries(departments, cast):
    import_province()
    proposal = BodyProposal.objects.get(name="县级以上人民政府信息化主管部门")
    waiting = [c.citation for c in proposal.waiting_clauses()]
    assert waiting == ["第二十一条第一款", "第二十三条第一款", "第三十七条第一款"]
    body_class = BodyClass.objects.get(name="县级以上人民政府")
    before = AuditEntry.objects.count()
    decision = services.body_proposal_map_class(proposal=proposal, actor=cast["adam"], body_class=body_class)
    assert decision.obligations_created == 3 * GOVERNMENTS
    for article in (21, 23, 37):
        assert len(holders(article)) == GOVERNMENTS
    entries = new_entries(before)
    assert entries[0] == ("registry.body_mapped_class", "adam")
    assert entries.count(("obligation.created", "adam")) == 3 * GOVERNMENTS
    decided = AuditEntry.objects.get(action="registry.body_mapped_class")
    assert decided.after["class"] == "县级以上人民政府" and len(decided.after["departments"]) == GOVERNMENTS
    proposal.refresh_from_db()
    assert proposal.status == BodyProposal.Status.MAPPED_CLASS and proposal.decided_by == cast["adam"]
    assert not Clause.objects.get(regulation__code="shandong-informatization", article__number=21).awaits_confirmation
    assert import_province().unchanged

    # The name follows the class: a later edit of the class reaches the next import of the text.
    services.body_class_save(
        actor=cast["adam"],
        body_class=body_class,
        name=body_class.name,
        phrases=body_class.phrases,
        members=[departments["JN-GOV"]],
    )
    import_province()
    assert holders(21) == ["JN-GOV"]


def test_a_proposal_mapped_onto_several_bodies(departments, cast):
    import_province()
    proposal = BodyProposal.objects.get(name="设区的市、县（市、区）人民政府信息化主管部门")
    chosen = [departments["JN-GXJ"], *Department.objects.filter(level="district", kind="government")]
    before = AuditEntry.objects.count()
    decision = services.body_proposal_map_several(proposal=proposal, actor=cast["adam"], departments=chosen)
    assert decision.obligations_created == GOVERNMENTS  # 第六条第二款: 工信局 and twelve district governments
    assert holders(6, 2) == sorted(d.code for d in chosen)
    entries = new_entries(before)
    assert entries[0] == ("registry.body_mapped_several", "adam")
    assert entries.count(("obligation.created", "adam")) == GOVERNMENTS
    proposal.refresh_from_db()
    assert proposal.status == BodyProposal.Status.MAPPED_SEVERAL
    assert set(proposal.departments.values_list("code", flat=True)) == {d.code for d in chosen}
    with pytest.raises(InvalidInput):
        services.body_proposal_map_several(
            proposal=BodyProposal.objects.get(name="信息化主管部门"), actor=cast["adam"], departments=[]
        )


def test_the_admin_maps_a_proposal_onto_a_class(departments, admin_client):
    import_province()
    proposal = BodyProposal.objects.get(name="县级以上人民政府信息化主管部门")
    body_class = BodyClass.objects.get(name="县级以上人民政府")
    url = reverse("admin:regulations_bodyproposal_change", args=[proposal.pk])
    both = {"level": proposal.level, "kind": proposal.kind, "body_class": body_class.pk}
    both["department"] = departments["JN-GXJ"].pk
    response = admin_client.post(url, both)
    assert response.status_code == 200 and "只能选择其一" in response.content.decode()
    assert BodyProposal.objects.get(pk=proposal.pk).status == BodyProposal.Status.PROPOSED
    del both["department"]
    response = admin_client.post(url, both, follow=True)
    assert f"新生成义务 {3 * GOVERNMENTS} 项" in response.content.decode()
    assert BodyProposal.objects.get(pk=proposal.pk).body_class == body_class
    assert AuditEntry.objects.filter(action="registry.body_mapped_class", actor__username="adam").count() == 1


def test_the_admin_maps_a_proposal_onto_several_bodies(departments, admin_client):
    import_province()
    proposal = BodyProposal.objects.get(name="设区的市、县（市、区）人民政府信息化主管部门")
    chosen = [departments["JN-GXJ"].pk, departments["JN-LIXIA"].pk]
    url = reverse("admin:regulations_bodyproposal_change", args=[proposal.pk])
    response = admin_client.post(
        url, {"level": proposal.level, "kind": proposal.kind, "departments": chosen}, follow=True
    )
    assert "新生成义务 2 项" in response.content.decode()
    assert holders(6, 2) == ["JN-GXJ", "JN-LIXIA"]
    entry = AuditEntry.objects.get(action="registry.body_mapped_several")
    assert entry.after == {"name": proposal.name, "departments": ["JN-LIXIA", "JN-GXJ"]}  # registry order


def test_the_admin_applies_a_class_edit_to_regulations_already_imported(departments, cast, admin_client):
    import_province()
    body_class = BodyClass.objects.get(name="县级以上人民政府")
    kept = list(body_class.members.exclude(code="JN-SHANGHE"))
    services.body_class_save(actor=cast["adam"], body_class=body_class, name=body_class.name, members=kept)
    assert len(holders(4)) == GOVERNMENTS  # nothing changes until asked
    before = AuditEntry.objects.count()
    response = admin_client.post(
        reverse("admin:regulations_bodyclass_changelist"),
        {"action": "resync_regulations", "_selected_action": [body_class.pk]},
        follow=True,
    )
    assert "已核对法规 1 部" in response.content.decode()
    assert "JN-SHANGHE" not in holders(4) and len(holders(4)) == GOVERNMENTS - 1
    superseded = Obligation.objects.get(
        clause__article__number=4, clause__paragraph_number=1, department__code="JN-SHANGHE"
    )
    assert superseded.superseded_at is not None  # kept, never deleted
    # 11 县级以上人民政府 clauses: 商河县's obligation superseded in each, audited as adam's.
    assert new_entries(before).count(("obligation.superseded", "adam")) == 11
    # Back in the class: the same obligations return.
    services.body_class_save(
        actor=cast["adam"], body_class=body_class, name=body_class.name, members=[*kept, departments["JN-SHANGHE"]]
    )
    result = services.regulations_resync(actor=cast["adam"])
    assert (result.regulations, result.obligations_created) == (1, 0)
    assert len(holders(4)) == GOVERNMENTS
    assert AuditEntry.objects.filter(action="obligation.restored", obligation=superseded).exists()
    with pytest.raises(NotAllowed):
        services.regulations_resync(actor=cast["lena"])
