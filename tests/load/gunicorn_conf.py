"""gunicorn settings file of the load tests (``-c tests/load/gunicorn_conf.py``)."""

# gunicorn >= 24 opens a control socket at a fixed path in $HOME; several test servers (or a
# developer's own gunicorn) would share it. Older versions ignore this unknown setting.
control_socket_disable = True
