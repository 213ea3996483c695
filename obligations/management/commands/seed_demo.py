import datetime as dt
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Department, User
from obligations import audit
from obligations.importing import import_regulation
from obligations.models import DueDateChange, Obligation, today
from obligations.parser import read_regulation_file
from obligations.registry import load_departments

SEED_REGULATION = Path(settings.BASE_DIR) / "fixtures" / "jinan-digital-economy-promotion-2024.txt"

# (username, full name, role, department code)
DEMO_ACCOUNTS = [
    ("admin", "系统管理员", User.Role.ADMIN, "JN-DSJ"),
    ("lead", "王督办", User.Role.LEAD, "JN-GXJ"),
    ("auditor", "李审计", User.Role.AUDITOR, "JN-SJJ"),
    ("staff_gxj", "张工信", User.Role.STAFF, "JN-GXJ"),
    ("staff_dsj", "赵数据", User.Role.STAFF, "JN-DSJ"),
    ("staff_fgw", "钱发改", User.Role.STAFF, "JN-FGW"),
    ("staff_lixia", "孙历下", User.Role.STAFF, "JN-LIXIA"),
    ("staff_gov", "周市府", User.Role.STAFF, "JN-GOV"),
]

# Days from today: some overdue, some close, most comfortably ahead.
DUE_OFFSETS = [-45, -12, -3, 2, 6, 20, 45, 90, 120, 180, 240, 300]


class Command(BaseCommand):
    help = "导入示例法规、机构名录，设置演示期限并创建各角色演示账号。"

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="以 JSON 输出演示账号")

    @transaction.atomic
    def handle(self, *args, json: bool = False, **options):
        load_departments()
        import_regulation(read_regulation_file(SEED_REGULATION), code=SEED_REGULATION.stem)
        accounts = self._accounts()
        self._due_dates(accounts["lead"])
        rows = [
            {"username": u.username, "role": u.role, "department": u.department.name if u.department else ""}
            for u in accounts.values()
        ]
        if json:
            self.stdout.write(_dumps(rows))
            return
        self.stdout.write(f"演示账号（密码均为 DEMO_PASSWORD，当前为 {settings.DEMO_PASSWORD}）：")
        for row, user in zip(rows, accounts.values(), strict=False):
            self.stdout.write(f"  {row['username']:<12} {user.get_role_display():<10} {row['department']}")

    def _accounts(self) -> dict[str, User]:
        result = {}
        for username, full_name, role, code in DEMO_ACCOUNTS:
            dept = Department.objects.get(code=code)
            user, created = User.objects.get_or_create(
                username=username, defaults={"full_name": full_name, "role": role, "department": dept}
            )
            if created or not user.check_password(settings.DEMO_PASSWORD):
                user.set_password(settings.DEMO_PASSWORD)
            user.full_name, user.role, user.department = full_name, role, dept
            user.email = f"{username}@tracker.local"
            user.is_staff = role == User.Role.ADMIN
            user.is_superuser = role == User.Role.ADMIN
            user.save()
            result[username] = user
        return result

    def _due_dates(self, lead: User) -> None:
        base = today()
        pending = Obligation.objects.active().filter(due_date__isnull=True).order_by("id")
        for index, obligation in enumerate(pending):
            new_date = base + dt.timedelta(days=DUE_OFFSETS[index % len(DUE_OFFSETS)])
            obligation.due_date = new_date
            obligation.save(update_fields=["due_date", "updated_at"])
            DueDateChange.objects.create(
                obligation=obligation, old_date=None, new_date=new_date, reason="演示数据：初始期限", changed_by=lead
            )
            audit.record(
                "obligation.due_date_set",
                obligation=obligation,
                actor=lead,
                before={"due_date": None},
                after={"due_date": new_date.isoformat(), "reason": "演示数据：初始期限"},
            )


def _dumps(rows) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2)
