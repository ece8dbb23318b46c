"""The guide's blueprint: reaches the plugin through ``current_app``."""

from flask import Blueprint, current_app

users_bp = Blueprint("users", __name__)


@users_bp.route("/users")
def list_users():
    plugin = current_app.sqlspec_plugin
    db = plugin.get_session()
    result = db.execute("SELECT * FROM users")
    return {"users": result.all()}
