"""The contract suite: each behaviour once, on every backend of ``tests.backends``.

The session-API, transaction and error tests take ``matrix`` (or ``session``/``config``) from
``tests.backends``; the Flask lifecycle tests take the Flask suite's fixtures, imported here.
"""

from tests.extensions.flask.conftest import (  # noqa: F401  (fixtures)
    _work_in_tmp_path,
    make_config,
)
