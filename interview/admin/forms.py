"""Forms for managing staff accounts."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

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
    brand_color = StringField(
        "Accent colour",
        validators=[Optional(), Length(max=7)],
        description="The top bar of candidates' pages, as #rrggbb. White text must stay readable "
        "on it (contrast of at least 4.5:1), so very light colours are refused.",
        render_kw={"placeholder": "#1f4b99", "autocomplete": "off"},
    )
    logo = FileField(
        "Logo",
        description="PNG, JPEG, WebP or GIF, up to 1 MB; shown at the top of candidates' pages.",
        render_kw={"accept": "image/png,image/jpeg,image/webp,image/gif"},
    )
    remove_logo = BooleanField("Remove the current logo")
    sender_name = StringField(
        "Emails come from",
        validators=[Optional(), Length(max=100)],
        description="The name candidates see as the sender of invitations and reminders "
        "(the address stays the server's). Empty: the organisation's name.",
    )
    submit = SubmitField("Save")
