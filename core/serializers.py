"""The base of every API input serializer: the rules for typed text and dates (core.validators)."""

from rest_framework import serializers

from .validators import guard_fields


class InputSerializer(serializers.Serializer):
    """A request whose text fields refuse control and bidi characters and invisible-only text, and
    whose date fields refuse dates outside 1900–2199 (core.validators)."""

    def get_fields(self):
        fields = super().get_fields()
        guard_fields(fields, text=serializers.CharField, date=serializers.DateField, moment=serializers.DateTimeField)
        return fields
