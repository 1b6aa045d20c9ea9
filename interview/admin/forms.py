"""Forms for managing staff accounts."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from ..forms import zone_field
from ..models import Role

ROLE_CHOICES = [SelectChoice(r.value, r.label) for r in Role]


class UserCreateForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
    submit = SubmitField("Create account")


class UserEditForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
    active = BooleanField("Account active")
    submit = SubmitField("Save")


class OrganizationForm(FlaskForm):
    timezone = zone_field(
        "Time zone",
        description="Staff who have not chosen their own zone see times in this one; emails to "
        "candidates state deadlines in it and in UTC.",
    )
    submit = SubmitField("Save")
