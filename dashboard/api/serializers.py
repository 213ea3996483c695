"""Response shapes of /api/dashboard/…, declared so that the OpenAPI schema is complete."""

from rest_framework import serializers


def light_field():
    return serializers.ChoiceField(
        choices=[("green", "正常"), ("yellow", "临期"), ("red", "逾期")],
        help_text="亮灯：green 正常，yellow 临期，red 逾期",
    )


class SummarySerializer(serializers.Serializer):
    on = serializers.DateField(help_text="统计日（Asia/Shanghai）")
    yellow_until = serializers.DateField(help_text="临期（黄灯）截止日：统计日起若干个工作日")
    total = serializers.IntegerField(help_text="义务总数：不含已废止的义务（另见 repealed），与报告、法规列表同一口径")
    not_started = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    submitted = serializers.IntegerField()
    verified = serializers.IntegerField()
    repealed = serializers.IntegerField(help_text="已废止：法规修订删除了其条款；不计入总数、逾期和按期完成率")
    overdue = serializers.IntegerField()
    due_soon = serializers.IntegerField(help_text="黄灯：未提交且期限在临期截止日之前")
    due_within_30_days = serializers.IntegerField(help_text="未提交且30日内到期")
    completion_rate = serializers.FloatField(allow_null=True, help_text="已核验 / 有效义务")
    on_time = serializers.IntegerField(help_text="按期完成：在期限当日或之前提交核验（含已核验）")
    late = serializers.IntegerField(help_text="逾期完成：期限之后才提交核验（含已核验）")
    on_time_rate = serializers.FloatField(
        allow_null=True, help_text="按期完成率 = 按期完成 ÷（按期完成 + 逾期完成 + 逾期未提交），与合规报告同一口径"
    )
    on_time_rule = serializers.CharField(help_text="按期完成率的统计口径（文字）")
    awaiting_verification = serializers.IntegerField()


class CountsMixin(serializers.Serializer):
    assigned = serializers.IntegerField(help_text="承担义务数：不含已废止的义务（另见 repealed）")
    not_started = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    submitted = serializers.IntegerField()
    verified = serializers.IntegerField()
    repealed = serializers.IntegerField(help_text="已废止：法规修订删除了其条款；不计入承担义务数")
    overdue = serializers.IntegerField()
    due_soon = serializers.IntegerField()
    completion_rate = serializers.FloatField(allow_null=True)
    light = light_field()


class BodyRowSerializer(CountsMixin):
    code = serializers.CharField()
    name = serializers.CharField()
    full_name = serializers.CharField()
    level = serializers.CharField()
    level_label = serializers.CharField()
    on_time = serializers.IntegerField()
    late = serializers.IntegerField()
    on_time_rate = serializers.FloatField(allow_null=True)
    last_activity_at = serializers.DateTimeField(allow_null=True)
    days_since_activity = serializers.IntegerField(allow_null=True)
    tasks_url = serializers.CharField()


class ChapterRowSerializer(CountsMixin):
    number = serializers.IntegerField(allow_null=True)
    label = serializers.CharField()
    title = serializers.CharField()


class GridBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class GridCellSerializer(serializers.Serializer):
    code = serializers.CharField()
    state = serializers.CharField(help_text="该单位在本条下最滞后的状态")
    state_label = serializers.CharField()
    light = light_field()
    total = serializers.IntegerField()
    overdue = serializers.IntegerField()


class GridArticleSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    label = serializers.CharField()
    chapter = serializers.IntegerField(allow_null=True)
    # A list, not a nested many=True serializer: DRF's ListField keeps null items.
    cells = serializers.ListField(
        child=GridCellSerializer(allow_null=True), help_text="与 bodies 一一对应；null 表示该单位在本条无义务"
    )


class GridRegulationSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()


class GridSerializer(serializers.Serializer):
    regulation = GridRegulationSerializer(
        allow_null=True, help_text="网格所示法规：筛选所选，否则为范围内最近施行的法规；无义务时为空"
    )
    bodies = GridBodySerializer(many=True)
    articles = GridArticleSerializer(many=True)


class ObligationRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    citation = serializers.CharField()
    article = serializers.IntegerField()
    text = serializers.CharField()
    department_code = serializers.CharField()
    department_name = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    due_date = serializers.DateField(allow_null=True)
    light = light_field()
    version = serializers.IntegerField()
    url = serializers.CharField()


class OverdueRowSerializer(ObligationRowSerializer):
    days_overdue = serializers.IntegerField()
    last_progress_text = serializers.CharField(allow_null=True)
    last_progress_at = serializers.DateTimeField(allow_null=True)
    last_reminder_at = serializers.DateTimeField(
        allow_null=True, help_text="最近一次就该义务发出催办提醒的时间；未催办过为空"
    )


class OverdueSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    results = OverdueRowSerializer(many=True)


class QueueRowSerializer(ObligationRowSerializer):
    submitted_at = serializers.DateTimeField(allow_null=True)
    submitted_by = serializers.CharField()
    days_waiting = serializers.IntegerField(allow_null=True)


class QueueSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    results = QueueRowSerializer(many=True)


class TrendWeekSerializer(serializers.Serializer):
    week = serializers.DateField(help_text="周一")
    week_end = serializers.DateField(help_text="周日")
    completed = serializers.IntegerField(help_text="本周核验完成数")
    due = serializers.IntegerField(help_text="本周到期数")
    newly_overdue = serializers.IntegerField(help_text="本周到期且到期日未提交/核验的数量")
    open = serializers.IntegerField(help_text="周末仍未核验的义务数")
    planned_open = serializers.IntegerField(help_text="按期限计划周末应剩余的义务数")


class TrendSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    total = serializers.IntegerField()
    weeks = TrendWeekSerializer(many=True)
