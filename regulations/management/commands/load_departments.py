from django.core.management.base import BaseCommand

from regulations.registry import DEFAULT_REGISTRY_PATH, load_departments


class Command(BaseCommand):
    help = "载入机构名录（fixtures/departments.json），可重复执行。"

    def add_arguments(self, parser):
        parser.add_argument("--path", default=str(DEFAULT_REGISTRY_PATH))

    def handle(self, *args, path, **options):
        counts = load_departments(path)
        self.stdout.write(f"机构名录：新增 {counts['created']}，更新 {counts['updated']}，未变 {counts['unchanged']}")
