"""Load tests: the demo app under gunicorn, hammered over loopback (see test_gunicorn.py)."""
