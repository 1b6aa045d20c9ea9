"""The admin's form for a new API key."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length


class ApiKeyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    invite = BooleanField("invite: create, extend, revoke and resend invitations")
    decide = BooleanField("decide: record final decisions")
    webhooks = BooleanField("webhooks: manage webhook endpoints")

    def scopes(self) -> list[str]:
        return [name for name in ("invite", "decide", "webhooks") if getattr(self, name).data]
