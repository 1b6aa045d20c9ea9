"""Candidate forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField
from wtforms.validators import DataRequired


class ConsentForm(FlaskForm):
    consent = BooleanField(
        "I have read the privacy notice and agree to be recorded for this interview.",
        validators=[DataRequired("Please tick the box to agree before you start.")],
    )
    submit = SubmitField("Agree and start")
