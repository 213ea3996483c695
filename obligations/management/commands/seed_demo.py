import datetime as dt
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Department, User
from obligations import services
from obligations.importing import import_regulation
from obligations.models import Obligation, today
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
# (staff account, obligations put in progress, obligations submitted for verification)
DEMO_WORK = [("staff_dsj", 2, 1), ("staff_fgw", 1, 1), ("staff_lixia", 1, 1)]


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
        self._work(accounts)
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
            services.obligation_set_due_date(
                obligation=obligation,
                actor=lead,
                due_date=base + dt.timedelta(days=DUE_OFFSETS[index % len(DUE_OFFSETS)]),
                reason="演示数据：初始期限",
                expected_version=obligation.version,
            )

    def _work(self, accounts: dict[str, User]) -> None:
        """Put a few obligations in progress and submitted, so that lists and dashboards show something.
        Only obligations nobody has touched yet are used, so running it again changes nothing."""
        for username, count_started, count_submitted in DEMO_WORK:
            user = accounts[username]
            untouched = list(
                Obligation.objects.active()
                .filter(department=user.department, status=Obligation.Status.NOT_STARTED)
                .exclude(progress_entries__isnull=False)
                .order_by("id")
            )
            already = Obligation.objects.filter(department=user.department, progress_entries__author=user).exists()
            if already:
                continue
            for index, obligation in enumerate(untouched[: count_started + count_submitted]):
                obligation = services.obligation_transition(
                    obligation=obligation, actor=user, action="start", expected_version=obligation.version
                )
                services.progress_add(
                    obligation=obligation, actor=user, text="已制定工作方案，明确责任处室和时间节点。", percent=30
                )
                if index >= count_started:
                    services.evidence_add(
                        obligation=obligation,
                        actor=user,
                        kind="link",
                        description="工作方案（政府网站公开）",
                        url="https://www.jinan.gov.cn/",
                    )
                    services.obligation_transition(
                        obligation=obligation, actor=user, action="submit", expected_version=obligation.version
                    )


def _dumps(rows) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2)
