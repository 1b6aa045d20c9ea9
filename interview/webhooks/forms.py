"""The admin's form for a webhook endpoint."""

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..models import EVENT_TYPES


class EndpointForm(FlaskForm):
    url = StringField("URL", validators=[DataRequired(), Length(max=2000)])
    description = StringField("Description", validators=[Length(max=200)])
    events = SelectMultipleField(
        "Events",
        choices=[SelectChoice(e, e) for e in EVENT_TYPES],
        default=list(EVENT_TYPES),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[DataRequired(message="Choose at least one event.")],
    )
