"""Branding rules: an accent colour only if white text on it stays readable (WCAG AA), a logo
re-encoded from the upload (never served as sent), a sender name for emails."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import secrets

from PIL import Image, UnidentifiedImageError

from .. import audit
from ..extensions import db
from ..media.storage import NotStored, get_storage
from ..models import Organization

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
MIN_CONTRAST = 4.5  # WCAG 2.2 AA for normal text: white text on the accent colour
LOGO_MAX_BYTES = 1024 * 1024
LOGO_BOX = (480, 160)  # the largest logo kept (shown at most 40 px high)
LOGO_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}
SENDER_MAX = 100


class BrandingError(Exception):
    """A branding change refused; the message says why, ``field`` which setting it is about."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def check_colour(colour: str) -> str:
    colour = (colour or "").strip()
    if not HEX.match(colour):
        raise BrandingError("Give the colour as #rrggbb, for example #1f4b99.", "brand_color")
    ratio = contrast(colour, "#ffffff")
    if ratio < MIN_CONTRAST:
        raise BrandingError(
            f"White text on {colour} has a contrast of {ratio:.1f}:1; candidates need at least "
            f"{MIN_CONTRAST}:1 to read it. Choose a darker shade.",
            "brand_color",
        )
    return colour.lower()


def normalise_logo(data: bytes) -> bytes:
    """The uploaded image as a clean PNG (no metadata, at most LOGO_BOX), or BrandingError."""
    if len(data) > LOGO_MAX_BYTES:
        raise BrandingError(f"The logo is too large (at most {LOGO_MAX_BYTES // 1024} KB).", "logo")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in LOGO_FORMATS:
                raise BrandingError("Upload the logo as PNG, JPEG, WebP or GIF.", "logo")
            if image.width * image.height > 25_000_000:
                raise BrandingError("The logo's picture is too large.", "logo")
            image.load()
            picture = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise BrandingError("That file is not an image we can read.", "logo") from error
    picture.thumbnail(LOGO_BOX)
    out = io.BytesIO()
    picture.save(out, "PNG", optimize=True)
    return out.getvalue()


def update(
    org: Organization,
    *,
    colour: str | None,
    sender_name: str | None,
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> None:
    """Apply the branding settings (audited); the old logo file goes after the commit."""
    changes: dict[str, object] = {}
    colour = check_colour(colour) if colour else None
    if colour != org.brand_color:
        changes["brand_color"] = [org.brand_color, colour]
        org.brand_color = colour
    sender_name = " ".join((sender_name or "").split()) or None
    if sender_name and len(sender_name) > SENDER_MAX:
        raise BrandingError(
            f"The sender name is too long (at most {SENDER_MAX} characters).", "sender_name"
        )
    if sender_name != org.sender_name:
        changes["sender_name"] = [org.sender_name, sender_name]
        org.sender_name = sender_name
    old_key = None
    if logo is not None:
        png = normalise_logo(logo)
        key = f"orgs/{org.id}/brand/logo-{secrets.token_hex(8)}.png"
        get_storage().save(key, io.BytesIO(png))
        old_key, org.logo_key = org.logo_key, key
        changes["logo"] = "replaced" if old_key else "added"
    elif remove_logo and org.logo_key:
        old_key, org.logo_key = org.logo_key, None
        changes["logo"] = "removed"
    if changes:
        audit.record("organization.branding", org, org_id=org.id, **changes)
    db.session.commit()
    if old_key:
        with contextlib.suppress(NotStored):
            get_storage().delete(old_key)


def logo_bytes(org: Organization) -> bytes | None:
    if not org.logo_key:
        return None
    try:
        with get_storage().open(org.logo_key) as stored:
            return stored.read()
    except NotStored:
        return None


def version(org: Organization) -> str:
    """Changes whenever the branding does (cache busting for the public logo and stylesheet)."""
    seed = f"{org.brand_color}|{org.logo_key}"
    return hashlib.sha256(seed.encode()).hexdigest()[:12]
