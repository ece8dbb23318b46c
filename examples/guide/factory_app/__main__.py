"""Self-check of the factory: ``python -m factory_app`` (from ``examples/guide``)."""

from . import create_app

app = create_app({"DATABASE_URL": ":memory:"})
assert app.test_client().get("/users").json == {"users": []}
with app.app_context():
    app.sqlspec_plugin.get_session().execute("INSERT INTO users (email) VALUES ('ada@example.com')")
    app.sqlspec_plugin.get_session().commit()
assert app.test_client().get("/users").json == {"users": [{"id": 1, "email": "ada@example.com"}]}
app.sqlspec_plugin.sqlspec.close_all_pools()
print("ok: the factory's blueprint lists users")
