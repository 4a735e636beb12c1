"""The base of every page form: it reads what a browser posts, and nothing else.

Flask-WTF fills a form from a JSON body when the request has no form fields,
and puts an uploaded file into whatever field has its name. A JSON list, a
number, a nested object or a string with an unpaired surrogate then reaches
the validators as a value no form field expects (a 500), and a file in a text
field fails the same way. Here a form reads the posted form fields, and files
only into its file fields: a JSON body is no form at all, so the page answers
as it does to any empty form (its errors, 400). The JSON routes read their
bodies through ``web.inputs``.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import FileField

SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Form(FlaskForm):
    class Meta:
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            if formdata is None or hasattr(formdata, "getlist"):
                return formdata  # given by the caller: None shows the form unfilled
            if request.method not in SUBMIT_METHODS:
                return None
            file_fields = {field.name for field in form if isinstance(field, FileField)}
            files = MultiDict([(k, v) for k, v in request.files.items(multi=True) if k in file_fields])
            if files:
                return CombinedMultiDict((files, request.form))
            return request.form or None
