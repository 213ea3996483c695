"""The base of every web form: the rules for typed text and dates (core.validators) on every field."""

from django import forms

from .validators import guard_fields


class InputForm(forms.Form):
    """A form whose text fields refuse control and bidi characters and invisible-only text, and
    whose date fields refuse dates outside 1900–2199."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        guard_fields(self.fields, text=forms.CharField, date=forms.DateField, moment=forms.DateTimeField)


class DateInput(forms.DateInput):
    input_type = "date"
