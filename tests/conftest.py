pytest_plugins = ["pytester", "tests.servers"]
