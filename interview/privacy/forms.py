"""Forms of the privacy pages."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from .requests import REASON_MAX
from .settings import RETENTION_MAX_DAYS


class SettingsForm(FlaskForm):
    retention_days = IntegerField(
        "Keep candidates' data for (days)",
        validators=[InputRequired(), NumberRange(1, RETENTION_MAX_DAYS)],
        description="Counted from the interview's completion, or from the link's expiry for "
        "interviews never completed. Then the daily sweep deletes everything about them.",
    )
    keep_anonymous_scores = BooleanField(
        "Keep scores as anonymous numbers after deletion",
        description="Results and reports keep the deleted candidate's scores under "
        "“Deleted candidate”, without any name, answer or written note.",
    )
    export_includes_reviews = BooleanField(
        "Candidates' downloads include what reviewers wrote about them",
        description="Scores, recommendations, notes and comments (reviewers are not named).",
    )
    privacy_contact = StringField(
        "Contact for data requests",
        validators=[Length(max=254)],
        description="Shown to candidates, e.g. privacy@example.com.",
    )
    submit = SubmitField("Save settings")


class DeleteForm(FlaskForm):
    confirm = BooleanField(
        "I understand that this deletes the candidate's answers, name, email and every note "
        "about them, now, for good.",
        validators=[DataRequired("Tick the box to confirm.")],
    )
    reason = StringField(
        "Reason (kept in the audit log; do not write the candidate's name)",
        validators=[DataRequired("Say why."), Length(max=REASON_MAX)],
    )
    submit = SubmitField("Delete now")


class HoldForm(FlaskForm):
    reason = StringField(
        "Reason for the legal hold", validators=[DataRequired("Say why."), Length(max=REASON_MAX)]
    )
    submit = SubmitField("Place legal hold")


class CandidateDeleteForm(FlaskForm):
    confirm = BooleanField(
        "Yes, delete my answers and everything else stored about me.",
        validators=[DataRequired("Tick the box to confirm.")],
    )
    submit = SubmitField("Delete my data")
