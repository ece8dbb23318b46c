"""The guide's "Custom Commit/Rollback Status Codes" as a complete program.

``extra_commit_statuses`` adds statuses that commit, ``extra_rollback_statuses`` statuses that
roll back although the mode would commit them. Run it: python custom_statuses.py
"""

from flask import Flask, request

from sqlspec import SQLSpec
from sqlspec.adapters.sqlite import SqliteConfig
from sqlspec.extensions.flask import SQLSpecPlugin

sqlspec = SQLSpec()
config = SqliteConfig(
    pool_config={"database": "app.db"},
    extension_config={
        "flask": {
            "commit_mode": "autocommit",
            "extra_commit_statuses": {202, 204},  # Accepted, No Content (2xx: commit anyway)
            "extra_rollback_statuses": {409, 422},  # Conflict, Unprocessable (roll back anyway)
        }
    },
)
sqlspec.add_config(config)

app = Flask(__name__)
plugin = SQLSpecPlugin(sqlspec, app)

with app.app_context():
    schema = plugin.get_session()
    schema.execute("CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, name TEXT)")
    schema.commit()


@app.route("/jobs", methods=["POST"])
def queue_job():
    plugin.get_session().execute("INSERT INTO jobs (name) VALUES (?)", request.json["name"])
    return {"queued": True}, int(request.args.get("status", 202))


@app.route("/jobs")
def list_jobs():
    return {"jobs": [row["name"] for row in plugin.get_session().select("SELECT name FROM jobs")]}


if __name__ == "__main__":
    client = app.test_client()
    assert client.post("/jobs", json={"name": "kept"}).status_code == 202
    assert client.post("/jobs?status=422", json={"name": "dropped"}).status_code == 422
    assert client.get("/jobs").json == {"jobs": ["kept"]}
    sqlspec.close_all_pools()
    print("ok: 202 committed, 422 rolled back")
