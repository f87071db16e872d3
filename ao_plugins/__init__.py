"""The built-in storage backends: ``api`` (the Agent Session Manager) and ``file``."""
