"""Form pieces shared by every area."""

from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

from .timezones import zone_names


class ConfirmForm(FlaskForm):
    """An empty form: a button that carries the CSRF token."""

    submit = SubmitField("Confirm")


def zone_field(label: str, *, default_label: str | None = None, description: str = ""):
    """A select of every IANA time zone; ``default_label`` adds an empty choice first."""
    choices = [SelectChoice(name, name.replace("_", " ")) for name in zone_names()]
    if default_label is not None:
        choices.insert(0, SelectChoice("", default_label))
    return SelectField(label, choices=choices, description=description)
