"""Annotate pages and endpoints."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("annotate", __name__)
