"""Forms for share links: the recruiter's (make a link) and the hiring manager's (passcode)."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .services import MAX_DAYS


class ShareForm(FlaskForm):
    candidates = SelectMultipleField(
        "Candidates",
        coerce=int,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[DataRequired(message="Choose at least one candidate.")],
    )
    recipient = StringField("For (name or role)", validators=[Length(max=200)])
    days = IntegerField(
        "Days the link works", default=14, validators=[DataRequired(), NumberRange(1, MAX_DAYS)]
    )
    passcode = StringField(
        "Passcode (optional, send it another way)", validators=[Optional(), Length(min=4, max=100)]
    )
    show_scores = BooleanField("Show the reviewers' scores")
    allow_download = BooleanField("Allow downloading the videos")


class PasscodeForm(FlaskForm):
    passcode = PasswordField("Passcode", validators=[DataRequired(), Length(max=100)])
