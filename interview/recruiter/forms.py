"""Forms for screenings, questions, rubric criteria and invitations."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Email, Length, NumberRange, Optional

from ..languages import LANGUAGES
from ..models.screenings import (
    ANSWER_SECONDS_MAX,
    ANSWER_SECONDS_MIN,
    RETAKES_MAX,
    THINK_SECONDS_MAX,
    ReviewMode,
)
from .services import megabytes, prompt_video_limit

TEXT_MAX = 5000
# Languages Whisper transcribes well, by ISO 639-1 code (any of its 99 is detected when unset).
ANSWER_LANGUAGES = [
    ("en", "English"),
    ("de", "German"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("it", "Italian"),
    ("nl", "Dutch"),
    ("pt", "Portuguese"),
    ("pl", "Polish"),
    ("sv", "Swedish"),
    ("da", "Danish"),
    ("no", "Norwegian"),
    ("fi", "Finnish"),
    ("tr", "Turkish"),
    ("ru", "Russian"),
    ("uk", "Ukrainian"),
    ("ja", "Japanese"),
    ("zh", "Chinese"),
    ("ko", "Korean"),
    ("ar", "Arabic"),
    ("hi", "Hindi"),
]


class ScreeningForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    role_description = TextAreaField(
        "Role description", validators=[Length(max=TEXT_MAX)], description="Shown to candidates."
    )
    intro = TextAreaField(
        "Message to candidates",
        validators=[Length(max=TEXT_MAX)],
        description="A welcome shown on the first page of the interview.",
    )
    deadline_days = IntegerField(
        "Days to complete",
        default=7,
        validators=[DataRequired(), NumberRange(min=1, max=365)],
        description="Each invitation expires this many days after it is sent.",
    )
    blind_review = BooleanField(
        "Blind review",
        default=True,
        description="Reviewers see colleagues' scores only after submitting their own.",
    )
    anonymize_candidates = BooleanField(
        "Hide candidate names from reviewers", description='Reviewers see "Candidate 7".'
    )
    language = SelectField(
        "Candidates' language",
        choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
        default="en",
        description="The language of the candidate's pages and emails; "
        "candidates can switch to another one on their pages.",
    )
    review_mode = SelectField(
        "Review mode",
        choices=[
            SelectChoice(ReviewMode.VIDEO.value, "Video (see and hear the candidate)"),
            SelectChoice(ReviewMode.AUDIO.value, "Audio only (hear, not see, until submitted)"),
            SelectChoice(ReviewMode.TRANSCRIPT.value, "Transcript only (read until submitted)"),
        ],
        default=ReviewMode.VIDEO.value,
        coerce=ReviewMode,
        description="Scoring from sound or text first reduces appearance and accent bias; "
        "the Results page shows agreement per mode.",
    )
    answer_language = SelectField(
        "Answer language",
        choices=[
            SelectChoice("", "Detect automatically"),
            *(SelectChoice(code, name) for code, name in ANSWER_LANGUAGES),
        ],
        default="",
        coerce=lambda value: value or None,
        description="For transcripts and captions, made on this server.",
    )
    submit = SubmitField("Save")


class QuestionForm(FlaskForm):
    prompt = TextAreaField(
        "Question", validators=[DataRequired(), Length(max=2000)], render_kw={"rows": 3}
    )
    think_seconds = IntegerField(
        "Think time (seconds)",
        default=30,
        validators=[NumberRange(min=0, max=THINK_SECONDS_MAX)],
        description=f"0 = start when ready; otherwise recording starts by itself "
        f"(at most {THINK_SECONDS_MAX}).",
    )
    answer_seconds = IntegerField(
        "Answer time limit (seconds)",
        default=120,
        validators=[DataRequired(), NumberRange(min=ANSWER_SECONDS_MIN, max=ANSWER_SECONDS_MAX)],
        description=f"Between {ANSWER_SECONDS_MIN} s and {ANSWER_SECONDS_MAX // 60} min.",
    )
    max_retakes = IntegerField(
        "Retakes allowed",
        default=1,
        validators=[NumberRange(min=0, max=RETAKES_MAX)],
        description=f"0 to {RETAKES_MAX}.",
    )
    is_practice = BooleanField(
        "Practice question", description="Never shown to reviewers; always asked first."
    )
    prompt_video = FileField(
        "Video of you asking the question (optional)",
        validators=[FileAllowed(["mp4", "m4v", "mov", "webm"], "Upload an MP4 or WebM video.")],
        description="MP4 (H.264) or WebM, up to 5 minutes and {size}. Candidates see it with "
        "the question text.",
    )
    remove_video = BooleanField("Remove the current video")
    submit = SubmitField("Save question")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The size comes from the one setting the upload route and the service enforce.
        self.prompt_video.description = self.prompt_video.description.format(
            size=megabytes(prompt_video_limit())
        )


class MoveForm(FlaskForm):
    direction = HiddenField(validators=[AnyOf(["up", "down"])])


class CriterionForm(FlaskForm):
    name = StringField("Criterion", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("What it measures", validators=[Length(max=2000)])
    weight = FloatField(
        "Weight", default=1.0, validators=[DataRequired(), NumberRange(min=0.1, max=100)]
    )
    level_1 = TextAreaField("1 – poor", validators=[Length(max=1000)], render_kw={"rows": 2})
    level_2 = TextAreaField("2", validators=[Length(max=1000)], render_kw={"rows": 2})
    level_3 = TextAreaField("3 – adequate", validators=[Length(max=1000)], render_kw={"rows": 2})
    level_4 = TextAreaField("4", validators=[Length(max=1000)], render_kw={"rows": 2})
    level_5 = TextAreaField("5 – excellent", validators=[Length(max=1000)], render_kw={"rows": 2})
    submit = SubmitField("Save criterion")


class DuplicateForm(FlaskForm):
    title = StringField("Title of the copy", validators=[Optional(), Length(max=200)])
    as_template = BooleanField("Save as a template")
    submit = SubmitField("Duplicate")


class InviteForm(FlaskForm):
    name = StringField("Candidate name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField("Invite")


class CsvImportForm(FlaskForm):
    file = FileField(
        "CSV file",
        validators=[FileRequired(), FileAllowed(["csv", "txt"], "Upload a .csv file.")],
        description='Two columns: name, email (a header row "name,email" is optional).',
    )
    submit = SubmitField("Invite from CSV")


class ExtendForm(FlaskForm):
    days = IntegerField(
        "Extend by (days)",
        default=3,
        validators=[DataRequired(), NumberRange(min=1, max=90)],
        description="Counted from the current deadline, or from now if it has passed.",
    )
    submit = SubmitField("Extend deadline")


class AccommodationsForm(FlaskForm):
    extra_time_percent = IntegerField(
        "Extra time (%)",
        default=0,
        validators=[NumberRange(min=0, max=300)],
        description="Added to every think and answer time.",
    )
    extra_think_seconds = IntegerField(
        "Extra think time (seconds)", default=0, validators=[NumberRange(min=0, max=3600)]
    )
    extra_answer_seconds = IntegerField(
        "Extra answer time (seconds)", default=0, validators=[NumberRange(min=0, max=3600)]
    )
    extra_retakes = IntegerField(
        "Extra retakes", default=0, validators=[NumberRange(min=0, max=10)]
    )
    audio_only_allowed = BooleanField("May answer with audio only (no camera)")
    submit = SubmitField("Save accommodations")
