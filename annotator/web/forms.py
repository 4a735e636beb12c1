"""The base of every page form: it reads what a browser posts, and nothing else.

Flask-WTF fills a form from a JSON body when the request has no form fields,
and puts an uploaded file into whatever field has its name. A JSON list, a
number, a nested object or a string with an unpaired surrogate then reached
the validators as a value no form field expects (a 500), an object without a
checkbox's name unticked it, and a file in a text field failed as the JSON
did. Here a page form takes a posted form only: another body (JSON, plain
text) is refused with 415 before the form reads anything, and files go only
into its file fields. The JSON routes read their bodies through
``web.inputs``. :class:`FiniteDecimalField` is the decimal field of every
page form.
"""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import DecimalField, FileField

SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", ""})  # "": no body at all


class Form(FlaskForm):
    class Meta:
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            if formdata is None or hasattr(formdata, "getlist"):
                return formdata  # given by the caller: None shows the form unfilled
            if request.method not in SUBMIT_METHODS:
                return None
            if request.mimetype not in FORM_TYPES:
                abort(
                    415,
                    description=f"This page takes a posted form ({' or '.join(sorted(FORM_TYPES - {''}))}), "
                    f"not {request.mimetype[:80]}; use the page's form, or the JSON API under /api/.",
                )
            file_fields = {field.name for field in form if isinstance(field, FileField)}
            files = MultiDict([(k, v) for k, v in request.files.items(multi=True) if k in file_fields])
            if files:
                return CombinedMultiDict((files, request.form))
            return request.form or None


class FiniteDecimalField(DecimalField):
    """A DecimalField that takes finite numbers only.

    ``Decimal`` also reads "NaN", "sNaN" and "Infinity", and wtforms' NumberRange
    then calls ``math.isnan``, which raises on a signaling NaN. Here each of them
    is a form error, as text that is no number is. A post without the field
    keeps the field's default (a float, such as 0.2), as DecimalField does.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if valuelist and self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError("Not a number: give one such as 0.2 (NaN and Infinity are not numbers here).")
