"""Field validators backed by libraries: python-stdnum (SIREN, SIRET, VAT, creditor id), schwifty (IBAN, BIC)."""

import zoneinfo

import pycountry
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren, siret
from stdnum.iso7064 import mod_97_10


def validate_siren(value: str) -> None:
    try:
        siren.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("SIREN invalide : 9 chiffres avec une clé de contrôle correcte."), code="siren"
        ) from exc


def validate_siret(value: str) -> None:
    try:
        siret.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("SIRET invalide : 14 chiffres avec une clé de contrôle correcte."), code="siret"
        ) from exc


def validate_vat_number(value: str) -> None:
    try:
        vat.validate(value)
    except StdnumError as exc:
        raise ValidationError(_("Numéro de TVA intracommunautaire invalide."), code="vat_number") from exc


def validate_iban(value: str) -> None:
    try:
        IBAN(value)
    except SchwiftyException as exc:
        raise ValidationError(_("IBAN invalide."), code="iban") from exc


def validate_bic(value: str) -> None:
    try:
        BIC(value)
    except SchwiftyException as exc:
        raise ValidationError(_("BIC invalide."), code="bic") from exc


def validate_sepa_creditor_id(value: str) -> None:
    """SEPA creditor identifier: country (2) + check digits (2) + business code (3) + national id.

    The check digits are ISO 7064 MOD 97-10 over the national id followed by the country code,
    the business code being left out (EPC262-08).
    """
    compact = value.replace(" ", "").upper()
    if len(compact) < 8 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        raise ValidationError(_("Identifiant créancier SEPA invalide."), code="sepa_creditor_id")
    national_id = compact[7:]
    if not national_id.isalnum() or not mod_97_10.is_valid(national_id + compact[:2] + compact[2:4]):
        raise ValidationError(_("Identifiant créancier SEPA invalide."), code="sepa_creditor_id")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Fuseau horaire inconnu."), code="timezone")


def validate_country(value: str) -> None:
    if not value or pycountry.countries.get(alpha_2=value.upper()) is None:
        raise ValidationError(_("Code pays ISO 3166 inconnu."), code="country")


def validate_phone(value: str) -> None:
    """A phone number that could exist (French numbers may be written without +33), via phonenumbers."""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Numéro de téléphone invalide."), code="phone") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValidationError(_("Numéro de téléphone invalide."), code="phone")
