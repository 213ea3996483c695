import json

from django.conf import settings
from django.core.management.base import BaseCommand

from notifications.demo import seed


class Command(BaseCommand):
    help = "导入示例法规与机构名录，创建各角色演示账号，并在空库中写入一年的演示实施过程（可重复运行）。"

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="以 JSON 输出演示账号")

    def handle(self, *args, json: bool = False, **options):
        accounts, told = seed()
        people = list(accounts.people.values())
        rows = [
            {"username": u.username, "role": u.role, "department": u.department.name if u.department else ""}
            for u in people
        ]
        if json:
            self.stdout.write(_dumps(rows))
            return
        if told:
            self.stdout.write("已写入一年的演示实施过程（期限、进展、佐证、核验、退回、延期、异议、提醒）。")
        self.stdout.write(f"演示账号（密码均为 DEMO_PASSWORD，当前为 {settings.DEMO_PASSWORD}）：")
        for row, user in zip(rows, people, strict=True):
            self.stdout.write(f"  {row['username']:<12} {user.get_role_display():<10} {row['department']}")


def _dumps(rows) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2)
