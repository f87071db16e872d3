"""The built-in storage backends: ``api`` (the Agent Session Manager or Agent Coordinator) and
``file``."""
