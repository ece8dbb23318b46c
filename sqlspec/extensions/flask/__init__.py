"""Flask integration: ``SQLSpecPlugin`` gives each request (or app context) its own sessions.

>>> from sqlspec.extensions.flask import SQLSpecPlugin
"""

from sqlspec.config import FlaskConfig as FlaskConfig
from sqlspec.extensions.flask._observe import QueryCount, RecordedQuery
from sqlspec.extensions.flask._plugin import SQLSpecPlugin
from sqlspec.extensions.flask._state import DatabaseState

__all__ = ("DatabaseState", "FlaskConfig", "QueryCount", "RecordedQuery", "SQLSpecPlugin")
