"""Review pages and endpoints."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("review", __name__)
