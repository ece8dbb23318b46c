pytest_plugins = ["pytester", "tests.servers", "tests.backends"]
