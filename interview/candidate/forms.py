"""Candidate forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField
from wtforms.validators import DataRequired


class ConsentForm(FlaskForm):
    consent = BooleanField(
        _l("I have read the privacy notice and agree to be recorded for this interview."),
        validators=[DataRequired(_l("Please tick the box to agree before you start."))],
    )
    submit = SubmitField(_l("Agree and start"))
